"""Side effects only, atomic and through dataset.Layout: tables, manifests, croissant.json, cutout Parquet,
the Hugging Face README and astropy exports."""
