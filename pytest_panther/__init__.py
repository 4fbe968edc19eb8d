"""pytest-panther: detections-as-code for Panther."""
