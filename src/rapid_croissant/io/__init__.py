"""Reading RAPID job folders: discovery, FITS planes and headers, catalogs, truth files. Reading only."""
