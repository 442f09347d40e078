"""The SHACL gate every record passes before it is stored."""
