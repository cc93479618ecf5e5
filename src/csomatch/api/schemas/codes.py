"""Listed codes (languages, countries) in the HTTP layer.

They are decoded by ``domain.decode_code`` and described in the OpenAPI document by this
plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.openapi.spec import Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.plugins import OpenAPISchemaPlugin

from csomatch.domain import ListedCode, decode_code, is_listed_code

if TYPE_CHECKING:  # Litestar calls the plugin; it does not read these annotations
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.typing import FieldDefinition

#: For ``Litestar(type_decoders=...)``: every ``ListedCode`` field is checked against its list.
TYPE_DECODERS = [(is_listed_code, decode_code)]


class ListedCodeSchema(OpenAPISchemaPlugin):
    """A listed code is a string of a documented shape (the list itself is pycountry's)."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        """Whether the annotation is a listed code."""
        return is_listed_code(value)

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        """The string schema of the code type: its shape and what it must be."""
        kind: type[ListedCode] = field_definition.annotation
        return Schema(
            type=OpenAPIType.STRING,
            pattern=kind.SCHEMA_PATTERN,
            description=kind.SCHEMA_DESCRIPTION,
        )
