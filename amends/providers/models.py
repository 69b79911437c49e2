from django.db import models


class Nation(models.TextChoices):
    """GOV.UK's bank-holiday divisions; a provider's working days follow its nation."""

    ENGLAND_AND_WALES = "england-and-wales", "England and Wales"
    SCOTLAND = "scotland", "Scotland"
    NORTHERN_IRELAND = "northern-ireland", "Northern Ireland"


class Provider(models.Model):
    """A communications provider (tenant) whose Code of Practice Amends runs."""

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    legal_name = models.CharField(max_length=200, blank=True)
    nation = models.CharField(max_length=20, choices=Nation.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
