"""The public contract: request bodies and response Structs, field by field.

Output Structs are the allow-lists. A response is built from a stored record in one way:
``msgspec.convert(record, XOut, from_attributes=True)``, which reads exactly the fields the
Out Struct declares and nothing else; a field whose public name differs from the stored one
is renamed on the Struct (``rename``). Only a view that computes a field (a confidential
site shown at its municipality's centre, a stale number shown as unknown, the states a
referral may move to, what a provider may see of a referral) builds its Struct field by
field, in one named function of ``registry`` or ``referrals`` here.
"""
