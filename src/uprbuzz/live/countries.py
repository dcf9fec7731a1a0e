"""Country names <-> ISO 3166-1 alpha-3 codes: the one table for the live tools.

Session files name States as the UN does ("Iran (Islamic Republic of)", "Türkiye" or "Turkey",
"United Kingdom of Great Britain and Northern Ireland"); UN Transcripts tag each statement with
an ISO-3 code. The table holds the 193 UN Member States and the two observer States with their
UN short names, plus the other names the same State goes by in speakers lists, transcripts
and the press. Lookups ignore case, accents, punctuation and a leading "the".
"""

from __future__ import annotations

import re
import unicodedata

# ISO-3 -> (UN short name, other names)
_TABLE: dict[str, tuple[str, tuple[str, ...]]] = {
    "AFG": ("Afghanistan", ()),
    "ALB": ("Albania", ()),
    "DZA": ("Algeria", ()),
    "AND": ("Andorra", ()),
    "AGO": ("Angola", ()),
    "ATG": ("Antigua and Barbuda", ()),
    "ARG": ("Argentina", ()),
    "ARM": ("Armenia", ()),
    "AUS": ("Australia", ()),
    "AUT": ("Austria", ()),
    "AZE": ("Azerbaijan", ()),
    "BHS": ("Bahamas", ()),
    "BHR": ("Bahrain", ()),
    "BGD": ("Bangladesh", ()),
    "BRB": ("Barbados", ()),
    "BLR": ("Belarus", ()),
    "BEL": ("Belgium", ()),
    "BLZ": ("Belize", ()),
    "BEN": ("Benin", ()),
    "BTN": ("Bhutan", ()),
    "BOL": ("Bolivia (Plurinational State of)", ("Bolivia", "Plurinational State of Bolivia")),
    "BIH": ("Bosnia and Herzegovina", ()),
    "BWA": ("Botswana", ()),
    "BRA": ("Brazil", ()),
    "BRN": ("Brunei Darussalam", ("Brunei",)),
    "BGR": ("Bulgaria", ()),
    "BFA": ("Burkina Faso", ()),
    "BDI": ("Burundi", ()),
    "CPV": ("Cabo Verde", ("Cape Verde",)),
    "KHM": ("Cambodia", ()),
    "CMR": ("Cameroon", ()),
    "CAN": ("Canada", ()),
    "CAF": ("Central African Republic", ()),
    "TCD": ("Chad", ()),
    "CHL": ("Chile", ()),
    "CHN": ("China", ("People's Republic of China",)),
    "COL": ("Colombia", ()),
    "COM": ("Comoros", ()),
    "COG": ("Congo", ("Republic of the Congo", "Congo-Brazzaville")),
    "CRI": ("Costa Rica", ()),
    "CIV": ("Côte d'Ivoire", ("Ivory Coast",)),
    "HRV": ("Croatia", ()),
    "CUB": ("Cuba", ()),
    "CYP": ("Cyprus", ()),
    "CZE": ("Czechia", ("Czech Republic",)),
    "PRK": ("Democratic People's Republic of Korea", ("North Korea", "DPRK")),
    "COD": ("Democratic Republic of the Congo", ("DR Congo", "DRC", "Congo-Kinshasa")),
    "DNK": ("Denmark", ()),
    "DJI": ("Djibouti", ()),
    "DMA": ("Dominica", ()),
    "DOM": ("Dominican Republic", ()),
    "ECU": ("Ecuador", ()),
    "EGY": ("Egypt", ()),
    "SLV": ("El Salvador", ()),
    "GNQ": ("Equatorial Guinea", ()),
    "ERI": ("Eritrea", ()),
    "EST": ("Estonia", ()),
    "SWZ": ("Eswatini", ("Swaziland", "Kingdom of Eswatini")),
    "ETH": ("Ethiopia", ()),
    "FJI": ("Fiji", ()),
    "FIN": ("Finland", ()),
    "FRA": ("France", ()),
    "GAB": ("Gabon", ()),
    "GMB": ("Gambia", ()),
    "GEO": ("Georgia", ()),
    "DEU": ("Germany", ()),
    "GHA": ("Ghana", ()),
    "GRC": ("Greece", ()),
    "GRD": ("Grenada", ()),
    "GTM": ("Guatemala", ()),
    "GIN": ("Guinea", ()),
    "GNB": ("Guinea-Bissau", ()),
    "GUY": ("Guyana", ()),
    "HTI": ("Haiti", ()),
    "HND": ("Honduras", ()),
    "HUN": ("Hungary", ()),
    "ISL": ("Iceland", ()),
    "IND": ("India", ()),
    "IDN": ("Indonesia", ()),
    "IRN": ("Iran (Islamic Republic of)", ("Iran", "Islamic Republic of Iran")),
    "IRQ": ("Iraq", ()),
    "IRL": ("Ireland", ()),
    "ISR": ("Israel", ()),
    "ITA": ("Italy", ()),
    "JAM": ("Jamaica", ()),
    "JPN": ("Japan", ()),
    "JOR": ("Jordan", ()),
    "KAZ": ("Kazakhstan", ()),
    "KEN": ("Kenya", ()),
    "KIR": ("Kiribati", ()),
    "KWT": ("Kuwait", ()),
    "KGZ": ("Kyrgyzstan", ()),
    "LAO": ("Lao People's Democratic Republic", ("Laos", "Lao PDR")),
    "LVA": ("Latvia", ()),
    "LBN": ("Lebanon", ()),
    "LSO": ("Lesotho", ()),
    "LBR": ("Liberia", ()),
    "LBY": ("Libya", ()),
    "LIE": ("Liechtenstein", ()),
    "LTU": ("Lithuania", ()),
    "LUX": ("Luxembourg", ()),
    "MDG": ("Madagascar", ()),
    "MWI": ("Malawi", ()),
    "MYS": ("Malaysia", ()),
    "MDV": ("Maldives", ()),
    "MLI": ("Mali", ()),
    "MLT": ("Malta", ()),
    "MHL": ("Marshall Islands", ()),
    "MRT": ("Mauritania", ()),
    "MUS": ("Mauritius", ()),
    "MEX": ("Mexico", ()),
    "FSM": ("Micronesia (Federated States of)", ("Micronesia", "Federated States of Micronesia")),
    "MCO": ("Monaco", ()),
    "MNG": ("Mongolia", ()),
    "MNE": ("Montenegro", ()),
    "MAR": ("Morocco", ()),
    "MOZ": ("Mozambique", ()),
    "MMR": ("Myanmar", ("Burma",)),
    "NAM": ("Namibia", ()),
    "NRU": ("Nauru", ()),
    "NPL": ("Nepal", ()),
    "NLD": ("Netherlands", ("Netherlands (Kingdom of the)", "Kingdom of the Netherlands")),
    "NZL": ("New Zealand", ()),
    "NIC": ("Nicaragua", ()),
    "NER": ("Niger", ()),
    "NGA": ("Nigeria", ()),
    "MKD": ("North Macedonia", ("Republic of North Macedonia", "Macedonia",
                                "The former Yugoslav Republic of Macedonia")),
    "NOR": ("Norway", ()),
    "OMN": ("Oman", ()),
    "PAK": ("Pakistan", ()),
    "PLW": ("Palau", ()),
    "PAN": ("Panama", ()),
    "PNG": ("Papua New Guinea", ()),
    "PRY": ("Paraguay", ()),
    "PER": ("Peru", ()),
    "PHL": ("Philippines", ()),
    "POL": ("Poland", ()),
    "PRT": ("Portugal", ()),
    "QAT": ("Qatar", ()),
    "KOR": ("Republic of Korea", ("South Korea",)),
    "MDA": ("Republic of Moldova", ("Moldova",)),
    "ROU": ("Romania", ()),
    "RUS": ("Russian Federation", ("Russia",)),
    "RWA": ("Rwanda", ()),
    "KNA": ("Saint Kitts and Nevis", ()),
    "LCA": ("Saint Lucia", ()),
    "VCT": ("Saint Vincent and the Grenadines", ()),
    "WSM": ("Samoa", ()),
    "SMR": ("San Marino", ()),
    "STP": ("Sao Tome and Principe", ()),
    "SAU": ("Saudi Arabia", ()),
    "SEN": ("Senegal", ()),
    "SRB": ("Serbia", ()),
    "SYC": ("Seychelles", ()),
    "SLE": ("Sierra Leone", ()),
    "SGP": ("Singapore", ()),
    "SVK": ("Slovakia", ("Slovak Republic",)),
    "SVN": ("Slovenia", ()),
    "SLB": ("Solomon Islands", ()),
    "SOM": ("Somalia", ()),
    "ZAF": ("South Africa", ()),
    "SSD": ("South Sudan", ()),
    "ESP": ("Spain", ()),
    "LKA": ("Sri Lanka", ()),
    "SDN": ("Sudan", ()),
    "SUR": ("Suriname", ()),
    "SWE": ("Sweden", ()),
    "CHE": ("Switzerland", ()),
    "SYR": ("Syrian Arab Republic", ("Syria",)),
    "TJK": ("Tajikistan", ()),
    "THA": ("Thailand", ()),
    "TLS": ("Timor-Leste", ("East Timor",)),
    "TGO": ("Togo", ()),
    "TON": ("Tonga", ()),
    "TTO": ("Trinidad and Tobago", ()),
    "TUN": ("Tunisia", ()),
    "TUR": ("Türkiye", ("Turkey",)),
    "TKM": ("Turkmenistan", ()),
    "TUV": ("Tuvalu", ()),
    "UGA": ("Uganda", ()),
    "UKR": ("Ukraine", ()),
    "ARE": ("United Arab Emirates", ("UAE",)),
    "GBR": ("United Kingdom of Great Britain and Northern Ireland",
            ("United Kingdom", "UK", "Great Britain", "Britain")),
    "TZA": ("United Republic of Tanzania", ("Tanzania",)),
    "USA": ("United States of America", ("United States", "USA", "US", "U.S.", "U.S.A.")),
    "URY": ("Uruguay", ()),
    "UZB": ("Uzbekistan", ()),
    "VUT": ("Vanuatu", ()),
    "VEN": ("Venezuela (Bolivarian Republic of)", ("Venezuela", "Bolivarian Republic of Venezuela")),
    "VNM": ("Viet Nam", ("Vietnam",)),
    "YEM": ("Yemen", ()),
    "ZMB": ("Zambia", ()),
    "ZWE": ("Zimbabwe", ()),
    # observer States
    "VAT": ("Holy See", ("Vatican", "Vatican City")),
    "PSE": ("State of Palestine", ("Palestine",)),
}


def name_key(name: str) -> str:
    """Case, accents, punctuation and a leading "the" do not matter: "Côte d'Ivoire" ==
    "cote divoire"; "U.S.A." == "usa"."""
    s = unicodedata.normalize("NFKD", name.casefold())
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    s = re.sub(r"['’.]", "", s)
    s = re.sub(r"[^\w]+", " ", s).strip()
    return re.sub(r"^the ", "", s)


_BY_NAME: dict[str, str] = {}
for _code, (_name, _aliases) in _TABLE.items():
    for _n in (_name, *_aliases):
        _BY_NAME.setdefault(name_key(_n), _code)


def iso3(name: str | None) -> str | None:
    """The ISO-3 code of a State named in any of its usual ways (or given as its code), or None."""
    if not name or not name.strip():
        return None
    s = name.strip()
    if len(s) == 3 and s.isalpha() and s.upper() in _TABLE:
        return s.upper()
    return _BY_NAME.get(name_key(s))


def country_name(code: str) -> str | None:
    """The UN short name for an ISO-3 code, or None if it is not a State's code."""
    entry = _TABLE.get(code.strip().upper())
    return entry[0] if entry else None
