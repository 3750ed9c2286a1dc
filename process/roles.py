"""What a mention does in its sentence, read off the dependency parse.

Works on anything shaped like a spaCy ``Token`` (``dep_``, ``head``, ``text``, ``i``), so unit
tests build a ``Doc`` with hand-written heads and deps instead of running a parser. Without a
parse (``dep_`` empty) every mention is ``other``.
"""

from __future__ import annotations

from typing import Literal, Protocol

Role = Literal["agent", "speaker", "proxy", "meet", "locative", "reporter", "other"]
ACTING: frozenset[Role] = frozenset({"agent", "speaker", "proxy", "meet"})

SPEECH_VERBS = frozenset(
    """say says said saying tell tells told state states stated announce announces announced
    declare declares declared warn warns warned urge urges urged insist insists insisted
    claim claims claimed add adds added note notes noted emphasize emphasizes emphasized
    emphasise emphasised stress stresses stressed reject rejects rejected demand demands
    demanded propose proposes proposed call calls called confirm confirms confirmed deny
    denies denied accuse accuses accused write writes wrote post posts posted tweet tweeted
    argue argues argued suggest suggests suggested respond responds responded reply replies
    replied ask asks asked admit admits admitted acknowledge acknowledges acknowledged
    predict predicts predicted signal signals signaled signalled vow vows vowed""".split()
)
MEETING_WORDS = frozenset(
    """meet meets met meeting talk talks talked negotiate negotiates negotiated negotiations
    speak speaks spoke call calls called phone summit conversation discuss discussed
    discusses agreement agreed deal""".split()
)
MOTION_WORDS = frozenset(
    """travel travels travelled traveled trip visit visits visited go goes went come came
    fly flew arrive arrived return returned head headed back deliveries supplies aid""".split()
)
GOVERNMENT_NOUNS = frozenset(
    """forces troops army military officials official government authorities negotiators
    delegation delegations diplomats ministry side leadership administration navy
    parliament regime command intelligence soldiers soldier jets drones mediators
    mediator""".split()
)
#: Who a state sends: its "of"/"from" is the state acting ("representatives of the United
#: States", "delegations from Qatar"), as its government's and forces' are, unless others act
#: on them ("sanctions on the government of Iran", "struck the command of Hezbollah").
DELEGATE_NOUNS = frozenset(
    """representatives representative envoy envoys delegation delegations negotiators
    officials diplomats""".split()
)
#: Nouns whose "of"/"from" names the state acting through them (one set, not a union per call).
STATE_BODY_NOUNS = GOVERNMENT_NOUNS | DELEGATE_NOUNS
#: Prepositions of what is acted on ("sanctions on", "strikes against").
TARGET_PREPS = frozenset("on against upon at".split())
#: Verbs whose object a delegation stands for ("delegations representing Ukraine").
REPRESENT_VERBS = frozenset("represent represents represented representing".split())
#: What two sides agree on between them ("a ceasefire between Israel and Hezbollah").
TRUCE_WORDS = frozenset("ceasefire cease-fire truce armistice dialogue".split())
#: Nouns of action: "Qatari mediation", "Russian offensive", "Ukrainian proposal".
ACTION_NOUNS = frozenset(
    """mediation offensive counteroffensive attack attacks strike strikes invasion proposal
    proposals demands demand plan initiative retreat withdrawal shelling bombardment
    incursion incursions""".split()
)
#: Words of wishing and offering that a meeting can hang on ("ready to meet"); not of plans
#: ("expected to meet", "invited to meet", "plans to meet": a meeting that will happen).
WISH_WORDS = frozenset(
    """ready willing prepared open eager want wants wanted hope hopes hoped wish wishes
    wished readiness willingness desire offer offers offered propose proposes proposed""".split()
)
#: Nouns of speech whose "by" names the speaker ("remarks by X", "a statement by X").
SPEECH_NOUNS = frozenset(
    """remarks remark statement statements comments comment speech address announcement
    announcements words""".split()
)
#: Nouns of taking part whose "of" names who takes part ("the participation of X", "through
#: the mediation of X"; not "without the participation of X").
PART_NOUNS = frozenset("participation mediation".split())
#: Verbs whose subject is the journalist, not an actor ("X contributed to this report").
REPORTER_VERBS = frozenset("contributed contributing reports reporting reported".split())
BE_VERBS = frozenset("is are was were be been being 's".split())
LOCATIVE_PREPS = frozenset("in at into inside across throughout near within around".split())


class TokenLike(Protocol):
    @property
    def dep_(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def i(self) -> int: ...
    @property
    def head(self) -> TokenLike: ...


def role_of(root: TokenLike) -> Role:
    """The role of the mention whose syntactic root is ``root``."""
    token = _chain_top(root)
    dep, head = token.dep_, token.head
    if dep == "nsubj":
        return _subject_role(head)
    if dep == "pobj" and head.dep_ == "agent":
        return "reporter" if head.head.text.lower() in REPORTER_VERBS else "agent"
    if dep == "dobj" and head.text.lower() in MEETING_WORDS:
        return "other" if _wished(head) else "meet"
    if dep == "dobj" and head.text.lower() in REPRESENT_VERBS:
        return "proxy"  # "delegations representing Ukraine, the United States and Russia"
    if dep == "pobj":
        return _object_role(head)
    if dep in ("amod", "compound", "poss"):
        return _modifier_role(token)
    return "other"


def _not_a_target(noun: TokenLike, delegate: bool) -> bool:
    """Others do not act on the noun: it is no object of "on"/"against" ("sanctions on the
    government of Iran", "attacks on the forces of Russia") and, unless it names envoys (whom
    talks bring together), no object of a verb ("struck the command of Hezbollah")."""
    if noun.dep_ == "pobj":
        return noun.head.text.lower() not in TARGET_PREPS
    return delegate or noun.dep_ != "dobj"


def _negated(noun: TokenLike) -> bool:
    """"without the participation of", "no participation of"."""
    return (noun.dep_ == "pobj" and noun.head.text.lower() == "without") or _has_child(
        noun, "neg") or any(c.dep_ == "det" and c.text.lower() == "no"
                            for c in getattr(noun, "children", ()))


def _chain_top(token: TokenLike) -> TokenLike:
    """Follow conjunctions and appositions to the first item of the list."""
    seen = 0
    while token.dep_ in ("conj", "appos") and token.head.i != token.i and seen < 12:
        token, seen = token.head, seen + 1
    return token


def _subject_role(verb: TokenLike) -> Role:
    word = verb.text.lower()
    if word in REPORTER_VERBS and _is_report_credit(verb):
        return "reporter"
    if word in SPEECH_VERBS:
        return "speaker"
    if word in BE_VERBS:
        return "agent" if _has_child(verb, "acomp") else "other"
    return "agent"


def _has_child(token: TokenLike, dep: str) -> bool:
    return any(c.dep_ == dep for c in getattr(token, "children", ()))


def _is_report_credit(verb: TokenLike) -> bool:
    """"contributed to this report", "reports:" (a byline), "reporting by"."""
    following = [c.text.lower() for c in getattr(verb, "rights", ())][:4]
    return verb.text.lower() != "reported" or not following or following[0] in (":", "from")


def _object_role(prep: TokenLike) -> Role:
    word = prep.text.lower()
    governor = prep.head.text.lower()
    if word in ("with", "between") and governor in MEETING_WORDS:
        return "other" if _wished(prep.head) else "meet"
    if word == "between" and governor in TRUCE_WORDS:
        return "meet"  # "a ceasefire between Israel and Hezbollah"
    if word in ("of", "from") and governor in STATE_BODY_NOUNS and (
            _not_a_target(prep.head, governor in DELEGATE_NOUNS)):
        return "proxy"  # "representatives of the United States", "delegations from Qatar"
    if word == "to" and governor == "according":
        return "speaker"  # "according to Ukraine's chief negotiator Rustem Umerov"
    if word == "by" and governor in SPEECH_NOUNS:
        return "speaker"  # "remarks by Russian Deputy Prime Minister Alexey Overchuk"
    if word == "of" and governor in PART_NOUNS and not _negated(prep.head):
        return "agent"  # "with the participation of Turkish Foreign Minister Hakan Fidan"
    if word in LOCATIVE_PREPS or (word in ("to", "from") and governor in MOTION_WORDS):
        return "locative"
    return "other"


def _wished(meeting: TokenLike) -> bool:
    """A meeting only wished for, offered or intended ("ready to meet Putin", "wants to
    meet with", "his readiness to meet"): its other side does nothing in the story."""
    return meeting.dep_ in ("xcomp", "acl") and meeting.head.text.lower() in WISH_WORDS


def _modifier_role(token: TokenLike) -> Role:
    """"Russian forces attacked", "Russia's delegation said": the state acts through them."""
    noun = token.head
    hops = 0
    while noun.dep_ == "compound" and noun.head.i != noun.i and hops < 4:
        noun, hops = noun.head, hops + 1
    word = noun.text.lower()
    if getattr(noun, "ent_type_", "") == "PERSON":
        return "other"
    if word in ACTION_NOUNS or (word in GOVERNMENT_NOUNS and noun.dep_ != "pobj"):
        return "proxy"
    if word in GOVERNMENT_NOUNS and noun.head.text.lower() in ("with", "by"):
        return "proxy"
    return "other"
