"""COCO instances jsons: reading them (``reader``), rasterizing their masks (``masks``), and the dataset over them (``dataset``)."""
