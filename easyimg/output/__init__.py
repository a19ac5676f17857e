"""Writing images: names, format sniffing, atomic never-overwrite writes and metadata."""

from .files import (
    TEMP_NAME,
    SavedImage,
    claim_name,
    os_reason,
    save_image,
    sidecar_path,
    temp_path,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)
from .metadata import png_with_text
from .names import (
    DEFAULT_TEMPLATE,
    TEMPLATE_FIELDS,
    OutputPlan,
    check_template,
    id_name,
    named_format,
    plan_output,
    render_name,
    slugify,
)
from .sniff import FORMAT_EXT, IMAGE_SUFFIXES, image_dimensions, sniff_format

__all__ = [
    "DEFAULT_TEMPLATE",
    "FORMAT_EXT",
    "IMAGE_SUFFIXES",
    "TEMPLATE_FIELDS",
    "TEMP_NAME",
    "OutputPlan",
    "SavedImage",
    "check_template",
    "claim_name",
    "id_name",
    "image_dimensions",
    "named_format",
    "os_reason",
    "plan_output",
    "png_with_text",
    "render_name",
    "save_image",
    "sidecar_path",
    "slugify",
    "sniff_format",
    "temp_path",
    "write_bytes_atomic",
    "write_json_atomic",
    "write_text_atomic",
]
