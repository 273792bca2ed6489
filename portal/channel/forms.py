"""The secure channel's forms: the account manager's link, and the client's upload and underwriting answers."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange

from pipeline.channel import links
from pipeline.channel.questions import OTHER, OTHER_TEXT, QUESTIONS, details_field


class SendLinkForm(FlaskForm):
    days = IntegerField(_l("Valid for (days)"), validators=[InputRequired(), NumberRange(1, links.MAX_DAYS)])


class UploadForm(FlaskForm):
    document = FileField(_l("Document (PDF, PNG, JPEG or HEIC)"),
                         validators=[FileRequired(_l("Choose the file to send."))])


class AnswersForm(FlaskForm):
    """One yes/no per question, a details box where a "yes" needs one, and a last free box."""

    def answers(self) -> dict:
        return {q.key: {"yes": True, "no": False}.get(getattr(self, q.key).data) for q in QUESTIONS}

    def details(self) -> dict:
        return {q.key: getattr(self, details_field(q)).data for q in QUESTIONS if q.details_on_yes}

    def other_text(self) -> str | None:
        return getattr(self, OTHER).data

    def question_fields(self):
        """(the yes/no field, its details field or None) per question, in order."""
        return [(getattr(self, q.key), getattr(self, details_field(q)) if q.details_on_yes else None)
                for q in QUESTIONS]


YES_NO = [SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))]
for _question in QUESTIONS:
    # the domain checks the answers (and says which is missing): the form only carries them
    setattr(AnswersForm, _question.key, RadioField(_l(_question.text), choices=YES_NO, validate_choice=False))
    if _question.details_on_yes:
        setattr(AnswersForm, details_field(_question), TextAreaField(_l("If yes: who, and what?")))
setattr(AnswersForm, OTHER, TextAreaField(_l(OTHER_TEXT)))
