"""What the driver's page says, in English and Italian.

``{name}``, ``{n}``, ``{phone}`` and ``{tracking}`` are filled in by the page's
script.
"""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("en", "it")

STRINGS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "title": "Delivery check",
        "language": "Language",
        "signin_intro": "Sign in with the driver key the shop gave you.",
        "key_label": "Driver key",
        "sign_in": "Sign in",
        "key_refused": (
            "This driver key is not valid or was revoked. Ask the shop for a new one."
        ),
        "signed_in_as": "Signed in as {name}",
        "sign_out": "Sign out",
        "tracking_label": "Tracking number",
        "scan": "Scan barcode or QR code",
        "scan_stop": "Stop scanning",
        "scan_hint": "Point the camera at the parcel's label.",
        "scan_failed": "The camera cannot be used here. Type the tracking number.",
        "code_label": "Code the customer tells you",
        "check": "Check code",
        "resend": "E-mail the code to the customer again",
        "resend_done": (
            "If this parcel has a code that can still be used, the customer gets it "
            "again by e-mail. Asking again too soon, or too often in a day, sends "
            "nothing."
        ),
        "working": "Checking…",
        "parcel": "Parcel {tracking}",
        "handed_over": "Handed over",
        "handed_over_detail": "The code is right: hand the parcel over.",
        "wrong": "Wrong code",
        "wrong_detail": "Do not hand the parcel over. Ask the customer again.",
        "attempts_left_one": "1 attempt left.",
        "attempts_left_many": "{n} attempts left.",
        "locked": "No more attempts",
        "locked_detail": "Do not hand the parcel over. Call the shop.",
        "locked_detail_phone": "Do not hand the parcel over. Call the shop:",
        "call": "Call {phone}",
        "error_input": "Check the tracking number and the code (digits only).",
        "error_busy": "Too many tries. Wait a moment, then try again.",
        "error_network": "No connection: nothing was checked. Try again.",
        "error_generic": "Something went wrong: nothing was checked. Try again.",
    },
    "it": {
        "title": "Verifica consegna",
        "language": "Lingua",
        "signin_intro": "Accedi con la chiave autista che ti ha dato il negozio.",
        "key_label": "Chiave autista",
        "sign_in": "Accedi",
        "key_refused": (
            "Questa chiave autista non è valida o è stata revocata. Chiedine una "
            "nuova al negozio."
        ),
        "signed_in_as": "Accesso come {name}",
        "sign_out": "Esci",
        "tracking_label": "Numero di spedizione",
        "scan": "Scansiona codice a barre o QR",
        "scan_stop": "Interrompi la scansione",
        "scan_hint": "Inquadra l'etichetta del pacco.",
        "scan_failed": (
            "Qui la fotocamera non si può usare. Digita il numero di spedizione."
        ),
        "code_label": "Codice detto dal cliente",
        "check": "Verifica il codice",
        "resend": "Invia di nuovo il codice al cliente",
        "resend_done": (
            "Se questo pacco ha un codice ancora valido, il cliente lo riceve di "
            "nuovo per e-mail. Chiederlo di nuovo troppo presto, o troppe volte in "
            "un giorno, non invia nulla."
        ),
        "working": "Verifica in corso…",
        "parcel": "Pacco {tracking}",
        "handed_over": "Consegnato",
        "handed_over_detail": "Il codice è giusto: consegna il pacco.",
        "wrong": "Codice errato",
        "wrong_detail": "Non consegnare il pacco. Chiedi di nuovo il codice.",
        "attempts_left_one": "Resta 1 tentativo.",
        "attempts_left_many": "Restano {n} tentativi.",
        "locked": "Tentativi esauriti",
        "locked_detail": "Non consegnare il pacco. Chiama il negozio.",
        "locked_detail_phone": "Non consegnare il pacco. Chiama il negozio:",
        "call": "Chiama il {phone}",
        "error_input": "Controlla il numero di spedizione e il codice (solo cifre).",
        "error_busy": "Troppi tentativi. Attendi un momento e riprova.",
        "error_network": "Nessuna connessione: nulla è stato verificato. Riprova.",
        "error_generic": (
            "Qualcosa non ha funzionato: nulla è stato verificato. Riprova."
        ),
    },
}
