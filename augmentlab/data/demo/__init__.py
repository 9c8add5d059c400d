"""The built-in demo data: synthetic waste-sorting scenes as JPEGs plus COCO jsons (``generator``), drawn from mask outlines (``outlines``)."""

from augmentlab.data.demo.generator import (
    CLASS_NAMES,
    DemoPaths,
    demo_dataset,
    generate_demo_dataset,
)

__all__ = ["CLASS_NAMES", "DemoPaths", "demo_dataset", "generate_demo_dataset"]
