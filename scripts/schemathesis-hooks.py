# Schemathesis hooks for scripts/schemathesis (loaded through SCHEMATHESIS_HOOKS).
#
# POST /api/v1/verify/batch takes `application/x-ndjson`, which schemathesis cannot
# serialize on its own ("Serialization not possible"), so without this the operation is
# never sent. The document declares the body as a plain string: send strings as they are;
# negative mode also generates non-strings (numbers, objects, …), send those as one JSON line.
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
    return (json.dumps(value, ensure_ascii=False) + "\n").encode("utf-8", "surrogatepass")
