"""The survivor's voice: one-time feedback codes, their public answers, and their summaries.

See docs/feedback.md: a referrer issues a code at the end of a placement; the person (or an
advocate with them) answers four questions on a public page, without signing in, and the code
is spent; answers are kept without any link to the code or the referral and are shown only
summed, over closed quarters, in cells of at least five answers.
"""
