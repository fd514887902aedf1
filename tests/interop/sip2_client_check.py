"""An independent SIP2 client (PyPI `sip2` 1.1) against our demo ILS.

Usage: sip2_client_check.py HOST PORT USER PASSWORD PATRON PIN ITEM

Logs in, asks for the ACS status and the patron's status and information, checks the item out
and back in, and prints one JSON object with what it saw. Exits non-zero only when the
conversation itself breaks; the Rust test judges the values.
"""

import contextlib
import io
import json
import sys

from Sip2.sip2 import Sip2


def first(parsed, field, default=""):
    values = parsed.get("variable", {}).get(field) or [default]
    return values[0]


def main(argv):
    host, port, user, password, patron, pin, item = argv[1:8]
    sip = Sip2()
    sip.hostName = host
    sip.hostPort = int(port)
    sip.tlsEnable = False
    sip.socketTimeout = 10
    sip.hostEncoding = "utf-8"
    sip.institutionId = "DEMO"
    sip.scLocation = "LOBBY"
    sip.patron = patron
    sip.patronpwd = pin
    sip.loglevel = "CRITICAL"
    result = {}
    # The library prints progress to stdout; keep stdout for the JSON answer.
    with contextlib.redirect_stdout(io.StringIO()):
        sip.connect()
        login = sip.sip_login_response(sip.get_response(sip.sip_login_request(user, password)))
        result["login"] = login["fixed"]["Ok"] == "1"
        status = sip.sip_sc_status_response(sip.get_response(sip.sip_sc_status_request()))
        result["online"] = status["fixed"]["OnlineStatus"] == "Y"
        result["institution"] = first(status, "AO")
        patron_status = sip.sip_patron_status_response(
            sip.get_response(sip.sip_patron_status_request())
        )
        result["patron_valid"] = first(patron_status, "BL") == "Y"
        result["pin_valid"] = first(patron_status, "CQ") == "Y"
        result["patron_name"] = first(patron_status, "AE")
        info = sip.sip_patron_information_response(
            sip.get_response(sip.sip_patron_information_request("charged"))
        )
        result["charged_count"] = int(info["fixed"]["ChargedItemsCount"] or 0)
        checkout = sip.sip_checkout_response(sip.get_response(sip.sip_checkout_request(item)))
        result["checkout_ok"] = checkout["fixed"]["Ok"] == "1"
        result["due_date"] = first(checkout, "AH")
        result["title"] = first(checkout, "AJ")
        checkin = sip.sip_checkin_response(sip.get_response(sip.sip_checkin_request(item)))
        result["checkin_ok"] = checkin["fixed"]["Ok"] == "1"
        result["sort_bin"] = first(checkin, "CL")
        sip.disconnect()
        # Its destructor prints too.
        del sip
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
