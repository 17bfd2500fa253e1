from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

NOT_AN_OBJECT = 'JSON body must be an object, e.g. {"email": "..."}.'
TOO_DEEP = "JSON parse error - nested too deeply."


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
