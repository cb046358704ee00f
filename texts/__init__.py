"""The platform's words: display names of codes and the sentences of reasons, in Chinese and English.

Neutral ground: the core, the jobs and the dashboard all use it, and it uses nothing of theirs
(only the data contract's code tables)."""
