"""The group dynamics model: members' taste as text through a BERT encoder, AGREE-style group
layers over each member's NCF preferences, aggregation policies, compatibility, real friend
groups and the ``groups`` evaluation protocol (issue 5)."""
