"""The score service's messages, in the auth service's words (DRF's): a refusal of input is
`{"<field>": ["<message>", ...]}` with status 400, any other error `{"detail": "<message>"}`
(docs/errors.md). Plain constants, so that the e2e suite quotes them too."""

REQUIRED = "This field is required."
NOT_AN_INTEGER = "A valid integer is required."
TOO_LONG = "String value too large."
AT_LEAST = "Ensure this value is greater than or equal to {ge}."
GIVEN_TWICE = "Give this parameter once."
NOT_FOUND = "Not found."
METHOD_NOT_ALLOWED = 'Method "{method}" not allowed.'
CORS_REFUSED = "Cross-origin request refused: origin, method or headers not allowed."

# pydantic's error types (`error["type"]`) and the words this service answers for them; an
# error of another type (one of ours: PydanticCustomError) keeps its own message.
VALIDATION_MESSAGES = {
    "missing": REQUIRED,
    "int_parsing": NOT_AN_INTEGER,
    "int_type": NOT_AN_INTEGER,
    "int_from_float": NOT_AN_INTEGER,
    "int_parsing_size": TOO_LONG,
    "greater_than_equal": AT_LEAST,
}
