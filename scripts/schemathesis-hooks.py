# Schemathesis hooks for scripts/schemathesis (loaded through SCHEMATHESIS_HOOKS).
#
# POST /api/v1/verify/batch takes `application/x-ndjson`, which schemathesis cannot
# serialize on its own ("Serialization not possible"), so without this the operation is
# never sent. The document declares the body as a plain string: send strings as they are;
# negative mode also generates non-strings (numbers, objects, …): see below.
import json

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    # A value that is not a string has no text form in a text body: send bytes that are no
    # text at all (not UTF-8), which the server must refuse, as it refuses any such body.
    return b"\xff\xfe" + json.dumps(value).encode("utf-8", "surrogatepass")
