"""Table domain: CSV/Parquet data with SDV metadata, reversible row transforms, row decoder and critic."""
