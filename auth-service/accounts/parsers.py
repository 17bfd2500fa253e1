from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, JSONParser

NOT_AN_OBJECT = 'JSON body must be an object, e.g. {"email": "..."}.'
TOO_DEEP = "JSON parse error - nested too deeply."
JSON_AS_FORM = (
    "The body is JSON but was sent as a form (curl -d does that): send it with the header "
    "'Content-Type: application/json'."
)


class JSONObjectParser(JSONParser):
    """JSON bodies must be objects: every endpoint takes named fields."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            # The json module refuses deep nesting with RecursionError, which DRF does not
            # catch (it only turns ValueError into a 400): `[[[[...` was a 500.
            raise ParseError(TOO_DEEP) from None
        if not isinstance(data, dict):
            raise ParseError(NOT_AN_OBJECT)
        return data


class FormOrJSONMistakeParser(FormParser):
    """Form bodies (the browsable API's forms), except a JSON text sent with the form type,
    which is the commonest client mistake: it parsed as one nameless field, so login answered
    "This field is required." for fields that were there and PUT /api/me/ a 200 that changed
    nothing. Such a body is a 400 that says what to send."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if any(name.lstrip()[:1] in ("{", "[") for name in data):
            raise ParseError(JSON_AS_FORM)
        return data
