"""A faster parser for S3's XML answers: botocore's own, with its hottest step done once per shape.

botocore parses a structure by asking every member of its shape, for every element of the answer,
where it is serialised, what it is called and which handler reads it. A 1,000-key ListObjectsV2 page
is 1,000 such structures: most of the call's time on a local server. ``FastRestXMLParser`` works out
that plan once per shape (shapes live as long as the client) and reads the common scalars inline; the
rest (nested structures, lists, maps, blobs, headers, errors) goes through botocore unchanged.
Structures with XML attributes (ACL grantees), exceptions and tagged unions keep botocore's path
whole. ``tests/test_fastparse.py`` checks both parsers return the same for real servers' answers.
"""

from __future__ import annotations

from botocore import parsers

PLAN = "_console_xml_plan"
_INLINE = {"string", "character", "integer", "long", "boolean", "timestamp"}


def _plan(shape) -> dict | None:
    """{XML name: ((member name, member shape, inline kind or None), …)} of the body members (botocore reads
    one element into every member of that name); None: botocore's path for the whole structure."""
    if shape.metadata.get("exception", False) or shape.is_tagged_union:
        return None
    plan = {}
    for member_name, member_shape in shape.members.items():
        serialization = member_shape.serialization
        if serialization.get("location") in parsers.BaseXMLResponseParser.KNOWN_LOCATIONS or serialization.get(
            "eventheader"
        ):
            continue
        if serialization.get("xmlAttribute"):
            return None
        name = member_name
        if member_shape.type_name == "list" and serialization.get("flattened"):
            name = member_shape.member.serialization.get("name") or serialization.get("name") or member_name
        else:
            name = serialization.get("name") or member_name
        kind = member_shape.type_name if member_shape.type_name in _INLINE else None
        plan[name] = (*plan.get(name, ()), (member_name, member_shape, kind))
    return plan


class FastRestXMLParser(parsers.RestXMLParser):
    def _handle_structure(self, shape, node):
        # A parser lives for one answer, a shape as long as its client: the plan is kept on the shape.
        try:
            plan = shape.__dict__[PLAN]
        except KeyError:
            plan = shape.__dict__[PLAN] = _plan(shape)
        if plan is None:
            return super()._handle_structure(shape, node)
        if isinstance(node, list):  # as _build_name_to_xml_node: the first of repeated elements
            node = node[0]
        children: dict = {}
        for item in node:
            tag = item.tag
            if tag[:1] == "{":  # "{namespace}Name" -> "Name", as _node_tag's regular expression
                tag = tag.rpartition("}")[2]
            if tag in children:  # repeated elements gather into a list, as botocore does
                known = children[tag]
                if isinstance(known, list):
                    known.append(item)
                else:
                    children[tag] = [known, item]
            else:
                children[tag] = item
        parsed = {}
        for name, member_node in children.items():
            for member_name, member_shape, kind in plan.get(name, ()):  # unknown elements left out, as botocore
                parsed[member_name] = self._member(member_shape, kind, member_node)
        return parsed

    def _member(self, shape, kind, node):
        if kind is None or isinstance(node, list):
            return self._parse_shape(shape, node)
        text = node.text
        if text is None:  # <Foo></Foo> is "", not None, as botocore's _text_content
            text = ""
        if kind == "string" or kind == "character":
            return text
        if kind == "boolean":
            return text == "true"
        if kind == "timestamp":
            return self._timestamp_parser(text)
        return int(text)


class FastParserFactory(parsers.ResponseParserFactory):
    """botocore's factory, with ``FastRestXMLParser`` for S3's protocol."""

    def create_parser(self, protocol_name):
        if protocol_name == "rest-xml":
            return FastRestXMLParser(**self._defaults)
        return super().create_parser(protocol_name)
