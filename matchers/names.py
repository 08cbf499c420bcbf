"""Personal names: one comparable spelling, and the nickname group of a given name.

A cleaned name is ASCII lower case letters in hyphen-joined parts: ``"Zoë O'Brien-Smyth"``
becomes ``"zoe-obrien-smyth"`` and ``"Smith Jones"`` and ``"Smith-Jones"`` both become
``"smith-jones"``, so double-barrelled surnames compare equal however they were typed.
Cleaning is idempotent: a cleaned name cleans to itself.

Nickname groups come from the ``nicknames`` package (a hand-curated English table of
formal names and their nicknames). Every name in the table maps to one formal name:
``bob``, ``rob`` and ``robert`` to ``robert``; ``peggy`` and ``margaret`` to ``margaret``.
A nickname of several formal names (``bill``: william, robert) goes to the first of them
in :data:`PREFERRED_FORMAL_NAMES`; names outside that list go to their formal name with
the most nicknames (then the alphabetically first), so the choice is stable.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from anyascii import anyascii

# Titles and honorifics dropped from the front of given names.
TITLES: frozenset[str] = frozenset(
    {
        "mr", "mrs", "ms", "miss", "mx", "master", "dr", "doctor", "prof", "professor",
        "sir", "dame", "lord", "lady", "rev", "revd", "reverend", "fr", "father", "sr",
        "sister", "capt", "captain", "col", "major", "cllr", "hon", "rt",
    }
)  # fmt: skip
# Generational and honours suffixes dropped from the end of family names.
SUFFIXES: frozenset[str] = frozenset(
    {"jr", "jnr", "junior", "sr", "snr", "senior", "ii", "iii", "iv", "esq", "obe", "mbe",
     "cbe", "kbe", "qc", "kc", "phd", "md"}
)  # fmt: skip

# Words systems put in a name field when the name is not known: never a real name.
PLACEHOLDER_NAMES: frozenset[str] = frozenset(
    {"unknown", "not-known", "notknown", "nk", "n-a", "none", "null", "nil", "test",
     "testing", "dummy", "xxx", "xx", "x", "zzz", "anon", "anonymous", "baby", "infant",
     "unborn", "newborn", "twin", "child", "male", "female", "boy", "girl", "tba", "tbc",
     "refused", "withheld", "deceased", "client", "resident", "occupier", "the-occupier"}
)  # fmt: skip

# Dropped without splitting the name: O'Brien -> obrien, St. John -> st john, and digits,
# which in a name are typing errors (s0encer -> sencer).
_DROPPED = re.compile(r"['`´’‘.0-9]")
_SEPARATORS = re.compile(r"[^a-z]+")


def _parts(value: str) -> list[str]:
    text = _DROPPED.sub("", anyascii(value).lower())
    return [part for part in _SEPARATORS.split(text) if part]


@lru_cache(maxsize=131_072)
def clean_given_name(value: str | None) -> str | None:
    """A given (or middle) name, titles dropped from the front: ``"Dr. Anne-Marie"`` ->
    ``"anne-marie"``; ``None`` when nothing is left or the name is a placeholder."""
    if not value:
        return None
    parts = _parts(value)
    while parts and parts[0] in TITLES:
        parts.pop(0)
    name = "-".join(parts)
    return name if name and name not in PLACEHOLDER_NAMES else None


@lru_cache(maxsize=131_072)
def clean_family_name(value: str | None) -> str | None:
    """A family name, suffixes dropped from the end: ``"Smith Jones Jr."`` -> ``"smith-jones"``;
    ``None`` for a placeholder such as ``"Unknown"``."""
    if not value:
        return None
    parts = _parts(value)
    while len(parts) > 1 and parts[-1] in SUFFIXES:
        parts.pop()
    name = "-".join(parts)
    return name if name and name not in PLACEHOLDER_NAMES else None


# Common formal names, most preferred first: a nickname of several formal names (``bill``:
# william, robert) joins the first of them listed here. The order only decides such ties.
PREFERRED_FORMAL_NAMES: tuple[str, ...] = (
    "john", "mary", "william", "james", "thomas", "george", "edward", "henry", "richard", "robert",
    "charles", "david", "michael", "peter", "paul", "stephen", "christopher", "andrew",
    "anthony", "daniel", "matthew", "samuel", "benjamin", "alexander", "nicholas",
    "jonathan", "patrick", "frederick", "francis", "albert", "arthur", "alfred", "harold",
    "walter", "edmund", "theodore", "timothy", "philip", "raymond", "kenneth", "donald",
    "ronald", "gerald", "lawrence", "leonard", "douglas", "gregory", "joseph", "jane",
    "elizabeth", "margaret", "sarah", "susan", "jennifer", "katherine", "catherine", "helen",
    "eleanor", "patricia", "christine", "alexandra", "samantha", "victoria", "rebecca",
    "deborah", "dorothy", "barbara", "jacqueline", "josephine", "joanne", "frances",
    "caroline", "charlotte", "abigail", "amelia", "ann",
)  # fmt: skip


@cache
def _formal_names() -> dict[str, str]:
    """Every name of the nicknames table mapped to the formal name of its group."""
    from nicknames import name_triplets

    neighbours: dict[str, set[str]] = {}
    formals: dict[str, set[str]] = {}
    nickname_counts: dict[str, int] = {}
    for formal, _relationship, nickname in name_triplets():
        # The table lists some pairs both ways (bob has_nickname robert), so ties are
        # broken by the preferred list first and by how many nicknames a name has.
        neighbours.setdefault(formal, set()).add(nickname)
        neighbours.setdefault(nickname, set()).add(formal)
        formals.setdefault(nickname, set()).add(formal)
        nickname_counts[formal] = nickname_counts.get(formal, 0) + 1
    rank = {name: i for i, name in enumerate(PREFERRED_FORMAL_NAMES)}
    groups: dict[str, str] = {}
    for name, near in neighbours.items():
        if name in rank:
            groups[name] = name
        elif preferred := [n for n in near if n in rank]:
            groups[name] = min(preferred, key=rank.__getitem__)
        elif name in formals:
            groups[name] = max(sorted(formals[name]), key=lambda f: nickname_counts.get(f, 0))
        else:
            groups[name] = name
    return groups


def name_group(given_name: str | None) -> str | None:
    """The nickname group of a cleaned given name: the formal name for a known nickname,
    else the name itself. Multi-part names are grouped by their first part."""
    if not given_name:
        return None
    first = given_name.split("-", 1)[0]
    return _formal_names().get(first, first)


# Short forms and spellings a UK clerk meets that the ``nicknames`` table (American and
# historical) lacks: British usage, the transliterations of Arabic, Bengali, Somali and
# Turkish names, and the everyday forms of Nigerian, Polish, Greek, Spanish, Italian,
# Portuguese, Irish and Russian names common in London. Each group lists the forms of one
# name, the full form first; a form may belong to several groups (Alex, Sam, Chris, Mo).
VARIANT_GROUPS: tuple[tuple[str, ...], ...] = tuple(
    tuple(group.split()) for group in (
        # British and Irish
        "william liam will bill billy willie", "henry harry hal hank",
        "john jack johnny jon", "james jim jimmy jamie", "margaret maggie meg peggy margo",
        "elizabeth liz lizzie beth betty eliza bess libby", "olivia liv livvy livy",
        "christopher chris kit topher", "christine chris chrissie christina",
        "christian chris", "patricia pat trish patsy tricia", "patrick pat paddy",
        "alexander alex sandy sasha xander", "alexandra alex sasha lexi sandra",
        "samuel sam sammy", "samantha sam sammy", "charlotte lottie charlie",
        "charles charlie chas chuck", "catherine cathy kate katie cat kathryn katherine",
        "katherine kate kathy katie kath kathryn", "kathleen kath kathy",
        "rebecca becky becca", "deborah debbie deb", "jennifer jen jenny",
        "victoria vicky tori", "jacqueline jackie jacqui", "abigail abby abi",
        "eleanor ellie nell elle", "isabella bella izzy isabel isobel isabelle",
        "josephine jo josie", "joanna jo asia", "frances fran frankie",
        "francis frank frankie", "edward ed eddie ted ned", "theodore theo ted",
        "thomas tom tommy", "michael mike mick mickey", "anthony tony ant",
        "daniel dan danny", "david dave davey davy", "joseph joe joey jo",
        "matthew matt", "nicholas nick nicky", "peter pete", "stephen steve steven",
        "steven steve stephen", "andrew andy drew", "benjamin ben benny",
        "frederick fred freddie", "jonathan jon jonny", "kenneth ken kenny",
        "lawrence larry laurie", "leonard len lenny leo", "gerald gerry",
        "philip phil pip phillip", "raymond ray", "ronald ron ronnie",
        "stanley stan", "terence terry", "timothy tim", "victor vic",
        "douglas doug dougie", "susan sue susie", "natalie nat", "nathaniel nate nat",
        "jessica jess jessie", "stephanie steph", "gillian gill jill", "jacob jake",
        "joshua josh", "teresa tess terri theresa", "kimberley kim kimberly",
        "dorothy dot dottie", "rosemary rosie", "valerie val", "mary molly polly",
        "richard rich rick ricky dick richie", "robert rob bob bobby robbie bert",
        "sean shaun shawn", "siobhan shiv", "padraig paddy patrick", "seamus jimmy james",
        "eoin owen", "aoife eva", "niamh neve", "sinead sinead", "ciaran kieran",
        "lewis louis", "ann anne anna annie", "sarah sara", "hannah hana",
        "rachel rachael", "zoe zoey", "geoffrey jeffrey geoff jeff",
        # Arabic, Bengali, Somali, Turkish
        "muhammad mohammed mohammad mohamed muhammed mohamad mohd md mo",
        "ahmed ahmad ahmet", "aisha ayesha aysha ayse", "fatima fatimah fatma fatuma fadumo",
        "yusuf yousef yousuf yusef yosef", "ibrahim ebrahim", "mustafa mostafa",
        "hussain hussein husain huseyin", "hassan hasan", "omar umar omer",
        "osman usman othman", "nur noor nour", "zainab zaynab zeynep",
        "khadija khadijah hatice", "mariam maryam miriam meryem", "ali aly",
        "abdullahi abdi", "abdirahman abdi", "abdikarim abdi", "abdulrahman abdul",
        "suleiman sulaiman suleyman", "yasmin yasmine jasmine", "amina aminah",
        # Nigerian (Yoruba, Igbo)
        "oluwaseun seun", "oluwafemi femi", "olufunmilayo funmi funmilayo",
        "oluwaseyi seyi", "babatunde tunde", "olumide mide", "chukwuemeka emeka",
        "temitope tope", "abimbola bimbo", "oyinkansola oyin", "oluwatobi tobi",
        "tobiloba tobi", "olusegun segun", "titilayo titi", "oluwakemi kemi",
        "oluwadamilare dami damilare", "damilola dami", "chiamaka amaka", "ifeoma ify",
        "moyosore moyo", "chidiebere chidi", "ngozichukwu ngozi",
        # Polish
        "malgorzata gosia", "katarzyna kasia", "barbara basia", "anna ania",
        "aleksandra ola", "aleksander olek", "wojciech wojtek", "grzegorz grzesiek",
        "agnieszka aga", "magdalena magda", "tomasz tomek", "piotr piotrek",
        "jakub kuba", "krzysztof krzysiek", "bartlomiej bartek", "stanislaw stas",
        "malgorzata malgosia",
        # Greek
        "ioannis yiannis giannis john", "konstantinos kostas costas",
        "georgios giorgos george", "nikolaos nikos nick", "dimitrios dimitris dimitri jim",
        "aikaterini katerina kate", "vasileios vasilis bill", "panagiotis panos",
        # Spanish, Portuguese, Italian
        "jose pepe ze", "francisco paco chico", "ignacio nacho", "dolores lola",
        "manuel manolo", "enrique quique", "concepcion conchi concha",
        "giuseppe peppe joe pino", "francesco franco", "alessandro sandro alex",
        "giovanni gianni",
        # Russian, Ukrainian
        "aleksandr sasha alex", "dmitri dima", "mikhail misha", "nikolai kolya",
        "natalia natasha", "ekaterina katya", "maria masha", "vladimir volodya",
        "sergei seryozha", "evgeni zhenya", "elena lena", "olga olya", "tatiana tanya",
    )
)  # fmt: skip


@cache
def _variant_groups() -> dict[str, frozenset[str]]:
    """Every name of :data:`VARIANT_GROUPS` mapped to the full forms of its groups."""
    found: dict[str, set[str]] = {}
    for group in VARIANT_GROUPS:
        for name in group:
            found.setdefault(name, set()).add(group[0])
    return {name: frozenset(full) for name, full in found.items()}


@lru_cache(maxsize=131_072)
def name_forms(given_name: str | None) -> frozenset[str]:
    """The names a cleaned given name may stand for: itself, its nickname group, the formal
    names the ``nicknames`` table gives it, and the full forms of its groups in
    :data:`VARIANT_GROUPS` (multi-part names by their first part). Two given names with a
    form in common are known forms of one name (Chris and Christine, Mo and Muhammad)."""
    if not given_name:
        return frozenset()
    first = given_name.split("-", 1)[0]
    forms = {given_name, first, _formal_names().get(first, first)}
    forms |= _canonicals().get(first, frozenset())
    forms |= _variant_groups().get(first, frozenset())
    return frozenset(forms)


@cache
def _canonicals() -> dict[str, frozenset[str]]:
    """Every nickname of the ``nicknames`` table mapped to all its formal names."""
    from nicknames import name_triplets

    found: dict[str, set[str]] = {}
    for formal, relationship, nickname in name_triplets():
        if relationship == "has_nickname":
            found.setdefault(nickname, set()).add(formal)
    return {name: frozenset(formals) for name, formals in found.items()}


def known_forms(a: str | None, b: str | None) -> bool:
    """Whether two cleaned given names have a form in common (see :func:`name_forms`)."""
    return not name_forms(a).isdisjoint(name_forms(b))


def one_known_name(a: str | None, b: str | None) -> bool:
    """Whether two cleaned given names are known as one name: one is a form of the other
    (a nickname the ``nicknames`` table gives it, or its formal name), or a group of
    :data:`VARIANT_GROUPS` holds both (Bob and Rob). Stricter than :func:`known_forms`:
    two names that only share a third are two names, as the ``nicknames`` table links
    names through nicknames they share (Robert and William through Bill, John and Nathan
    through Jonathan, Mary and Rose through Rosemary). Multi-part names by their first
    part. For telling twins apart, who may bear any two names."""
    if not a or not b:
        return False
    first_a, first_b = a.split("-", 1)[0], b.split("-", 1)[0]
    if first_a in name_forms(b) or first_b in name_forms(a):
        return True
    groups = _variant_groups()
    return not groups.get(first_a, frozenset()).isdisjoint(groups.get(first_b, frozenset()))


def forms_text(given_name: str | None) -> str | None:
    """:func:`name_forms` as one ``|``-separated, sorted string (the SQL side splits it)."""
    forms = name_forms(given_name)
    return "|".join(sorted(forms)) if forms else None
