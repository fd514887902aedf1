"""Reads one received message with Python's own `email` package and prints what the receipt
tests check, as JSON: the recipient header, the subject, and the text and HTML bodies.

    parse_mail.py MESSAGE.eml
"""
import email
import email.policy
import json
import sys


def main() -> int:
    with open(sys.argv[1], "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    print(json.dumps({
        "to": str(msg["To"]),
        "from": str(msg["From"]),
        "subject": str(msg["Subject"]),
        "content_type": msg.get_content_type(),
        "text": text.get_content() if text else None,
        "html": html.get_content() if html else None,
    }, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
