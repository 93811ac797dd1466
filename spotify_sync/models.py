"""Spotify connections and sync cursors arrive with the Spotify sync issue."""
