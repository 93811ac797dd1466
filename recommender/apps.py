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
        _connect_room_revisions()


def _connect_room_revisions() -> None:
    """A group's serving state is re-read after a membership, group, name or play change."""
    from django.db.models.signals import post_delete, post_save

    from groups.models import ListeningGroup, Membership
    from recommender.models import FeedbackEvent, User
    from recommender.serving.rooms import room_revision_bump_on_commit

    def membership(instance: Membership, **kwargs: object) -> None:
        room_revision_bump_on_commit(group_id=instance.group_id)

    def group(instance: ListeningGroup, **kwargs: object) -> None:
        room_revision_bump_on_commit(group_id=instance.pk)

    def play(instance: FeedbackEvent, created: bool = False, **kwargs: object) -> None:
        if created and instance.group_id is not None and instance.kind == FeedbackEvent.Kind.PLAY:
            room_revision_bump_on_commit(group_id=instance.group_id)

    def user(instance: User, update_fields: frozenset[str] | None = None, **kwargs: object) -> None:
        if update_fields is not None and update_fields <= {"last_login", "password"}:
            return
        for group_id in Membership.objects.filter(user_id=instance.pk).values_list(
            "group_id", flat=True
        ):
            room_revision_bump_on_commit(group_id=group_id)

    for name, signal in (("saved", post_save), ("deleted", post_delete)):
        signal.connect(membership, sender=Membership, dispatch_uid=f"room-membership-{name}")
        signal.connect(group, sender=ListeningGroup, dispatch_uid=f"room-group-{name}")
    post_save.connect(play, sender=FeedbackEvent, dispatch_uid="room-play")
    post_save.connect(user, sender=User, dispatch_uid="room-member-name")
