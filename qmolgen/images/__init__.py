"""Image domain: 8x8 digits, image decoder and critic, the digits classifier behind FID, image metrics."""
