from __future__ import annotations

from django.apps import AppConfig


class RecommenderConfig(AppConfig):
    name = "recommender"
    verbose_name = "Catalogue and listening"

    def ready(self) -> None:
        from django.db import transaction
        from django.db.models.signals import post_delete, post_save

        from recommender.models import CurationRule
        from recommender.serving.curation import curation_revision_bump

        def bump(**kwargs: object) -> None:
            # every process re-reads the rules at its next request (now, and after commit)
            curation_revision_bump()
            transaction.on_commit(curation_revision_bump)

        post_save.connect(bump, sender=CurationRule, dispatch_uid="curation-rule-saved")
        post_delete.connect(bump, sender=CurationRule, dispatch_uid="curation-rule-deleted")
