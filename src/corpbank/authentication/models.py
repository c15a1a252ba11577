"""Risk-based additional authentication (追加認証, R-D1–R-D3): each user's secret questions (合言葉)
and the environments where the user has proved themselves."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from corpbank.identity.models import Secret
from corpbank.organizations.models import CustomerUser


class Question(models.TextChoices):
    """The questions a user chooses from (three different ones, R-D1)."""

    MOTHER_MAIDEN_NAME = "mother_maiden_name", _("母親の旧姓は？")
    FIRST_PET = "first_pet", _("初めて飼ったペットの名前は？")
    ELEMENTARY_SCHOOL = "elementary_school", _("卒業した小学校の名前は？")
    BIRTHPLACE = "birthplace", _("生まれた市区町村の名前は？")
    CHILDHOOD_FOOD = "childhood_food", _("子どもの頃に好きだった食べ物は？")
    CHILDHOOD_FRIEND = "childhood_friend", _("小学校時代の親友の名前は？")
    TEACHER = "teacher", _("思い出に残る先生の名前は？")
    FIRST_CAR = "first_car", _("初めて乗った車の車種は？")
    FATHER_HOMETOWN = "father_hometown", _("父親の出身地は？")
    HONEYMOON = "honeymoon", _("新婚旅行の行き先は？")


class SecretQuestion(models.Model):
    """One of the user's three questions; its answer is a Secret of kind secret_answer (Argon2id of the
    normalised answer), which the lockout mechanism checks like any password."""

    user = models.ForeignKey(CustomerUser, on_delete=models.CASCADE, related_name="secret_questions")
    position = models.PositiveSmallIntegerField()
    question = models.CharField(max_length=40, choices=Question.choices)
    answer = models.OneToOneField(Secret, on_delete=models.CASCADE, related_name="secret_question")
    registered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "position"], name="one_question_per_position"),
            models.UniqueConstraint(fields=["user", "question"], name="each_question_once_per_user"),
            models.CheckConstraint(condition=Q(position__gte=1, position__lte=3), name="three_positions"),
        ]


class KnownEnvironment(models.Model):
    """A browser where the user answered a question or registered questions (R-D2): the random device ID
    in its signed cookie, and what the environment looked like then. A login from it is not asked
    again while every part still matches."""

    user = models.ForeignKey(CustomerUser, on_delete=models.CASCADE, related_name="known_environments")
    device_id = models.CharField(max_length=64)
    browser = models.CharField(max_length=60)
    os = models.CharField(max_length=60)
    languages = models.CharField(max_length=200)
    network = models.CharField(max_length=50)
    recognised_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "device_id"], name="one_environment_per_device_and_user"),
        ]
