"""The API against its published schema: real requests as each persona, every answer validated
against /api/schema/ with openapi-core (see tests/core/test_api_contract.py)."""
