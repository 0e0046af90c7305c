"""Date and time formats per language (``FORMAT_MODULE_PATH``), as Indian pages write them.

Templates and code use the named formats (``DATE_FORMAT``, ``DATETIME_FORMAT``, ...), never a
literal pattern: a pattern right in English can be wrong in Hindi (``M``, the short month, is
"मा" for March in Django's Hindi catalogue, and ``A`` reads "बजे" for both halves of the day).
"""
