"""The molecule domain: graph encoding, decoder, critic, chemistry metrics and SMILES/SDF files."""
