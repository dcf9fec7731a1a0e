"""Versioned schema migrations. Append new (version, sql) pairs; never edit an applied one."""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE post_versions (
            post_id TEXT NOT NULL,
            hash TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT '',
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            PRIMARY KEY (post_id, hash)
        );
        -- Parsed post files cached by content hash (warm `check` and `plan`).
        CREATE TABLE parse_cache (
            path TEXT PRIMARY KEY,
            file_hash TEXT NOT NULL,
            result BLOB NOT NULL,
            updated_at TEXT NOT NULL
        );
        -- One row per post x platform x thread part: the exactly-once ledger.
        CREATE TABLE publications (
            post_id TEXT NOT NULL,
            platform TEXT NOT NULL,
            part INTEGER NOT NULL,
            content_hash TEXT NOT NULL,
            state TEXT NOT NULL,          -- claimed | sent | failed | unknown | deferred | missed | retracted
            idem_key TEXT,                -- e.g. Bluesky rkey, chosen before sending
            remote_id TEXT,
            uri TEXT,
            cid TEXT,
            url TEXT,
            error TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before TEXT,              -- deferred until (rate limit, backoff)
            claimed_at TEXT,
            sent_at TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (post_id, platform, part)
        );
        CREATE INDEX publications_state ON publications(state);
        -- Append-only history of every attempt and outcome.
        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            post_id TEXT,
            platform TEXT,
            part INTEGER,
            event TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE sessions (
            platform TEXT NOT NULL,
            account TEXT NOT NULL,
            data TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (platform, account)
        );
        CREATE TABLE rate_limits (
            platform TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            remaining INTEGER,
            reset_at TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (platform, endpoint)
        );
        CREATE TABLE feed_state (
            feed TEXT PRIMARY KEY,
            etag TEXT,
            last_modified TEXT,
            subscribed_at TEXT NOT NULL,
            last_polled TEXT
        );
        CREATE TABLE feed_items (
            feed TEXT NOT NULL,
            item_key TEXT NOT NULL,
            post_id TEXT,
            published TEXT,
            seen_at TEXT NOT NULL,
            PRIMARY KEY (feed, item_key)
        );
        -- Posts that exist only in the store (approved feed items, live posts).
        CREATE TABLE stored_posts (
            post_id TEXT PRIMARY KEY,
            origin TEXT NOT NULL,
            data TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE kv (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """,
    ),
    (
        2,
        """
        -- Publish loop (PUBLISH): who holds a claim and until when, why a row failed, and the
        -- part's text so a crashed attempt can be looked up on the platform (X matches by text).
        ALTER TABLE publications ADD COLUMN owner TEXT;
        ALTER TABLE publications ADD COLUMN lease_until TEXT;
        ALTER TABLE publications ADD COLUMN kind TEXT;
        ALTER TABLE publications ADD COLUMN text TEXT;
        CREATE INDEX publications_post ON publications(post_id, platform, part);
        """,
    ),
    (
        3,
        """
        -- Live console (LIVE): one row per covered session (rehearsals get their own key).
        CREATE TABLE live_sessions (
            session TEXT PRIMARY KEY,
            source TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL DEFAULT '',
            start_at TEXT NOT NULL,        -- wall time of broadcast offset 00:00:00 (after syncs)
            template TEXT,                 -- the operator's edited composer template
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE live_syncs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session TEXT NOT NULL,
            at TEXT NOT NULL,              -- wall time of the sync
            shown REAL NOT NULL,           -- what the broadcast showed then (seconds)
            start_at TEXT NOT NULL
        );
        -- "Now speaking: X" marks that re-anchor the speaker predictions.
        CREATE TABLE live_marks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session TEXT NOT NULL,
            entry INTEGER NOT NULL,
            name TEXT NOT NULL,
            offset REAL NOT NULL,
            at TEXT NOT NULL
        );
        -- Every live post, stored the moment it is submitted (before any platform is called).
        CREATE TABLE live_posts (
            session TEXT NOT NULL,
            n INTEGER NOT NULL,            -- 0 = the anchor post
            post_id TEXT NOT NULL UNIQUE,  -- live/<session>/<n>: the publish ledger's key
            kind TEXT NOT NULL,            -- anchor | text | card | cue
            client_id TEXT,                -- the page's submit id: a resubmitted request is one post
            text TEXT NOT NULL,
            data TEXT NOT NULL,            -- the Post as JSON
            speaker TEXT,
            offset REAL,
            cue_id TEXT,
            state TEXT NOT NULL,           -- submitted | sending | sent | partial | failed
            platforms TEXT NOT NULL DEFAULT '{}',  -- per platform: state, links, error, attempts
            submitted_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (session, n),
            UNIQUE (session, client_id)
        );
        CREATE TABLE live_cues (
            session TEXT NOT NULL,
            cue_id TEXT NOT NULL,
            state TEXT NOT NULL,           -- fired | skipped
            post_id TEXT,
            at TEXT NOT NULL,
            PRIMARY KEY (session, cue_id)
        );
        """,
    ),
    (
        4,
        """
        -- Channels (several accounts per platform): a lane is post x channel x part. Today's
        -- rows were written for the channels named after their platform (x, bluesky), so
        -- renaming the column carries every sent part over: nothing is sent again.
        ALTER TABLE publications RENAME COLUMN platform TO channel;
        ALTER TABLE events RENAME COLUMN platform TO channel;
        """,
    ),
    (
        5,
        """
        -- After the review (RECORDS): the UPR recommendations, keyed by document and paragraph
        -- (A/HRC/46/15 26.1), with the State's position once it has answered (NULL = pending).
        -- Lists (recommending States, themes, SDGs) and links are JSON text.
        CREATE TABLE records (
            doc TEXT NOT NULL,                 -- A/HRC/46/15
            paragraph TEXT NOT NULL,           -- 26.1
            text TEXT NOT NULL,
            states TEXT NOT NULL DEFAULT '[]', -- recommending States
            themes TEXT NOT NULL DEFAULT '[]',
            sdgs TEXT NOT NULL DEFAULT '[]',
            position TEXT,                     -- supported | noted | supported in part | NULL
            comment TEXT NOT NULL DEFAULT '',  -- the State's explanation of its position
            links TEXT NOT NULL DEFAULT '{}',  -- {"document": ..., "uhri": ..., "uprinfo": ...}
            source TEXT NOT NULL DEFAULT '',   -- the file it was imported from
            position_source TEXT NOT NULL DEFAULT '',
            imported_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (doc, paragraph)
        );
        -- Engagement read back from the platforms after publication: one row per
        -- post x channel x part x snapshot (stage "1h", "24h", "7d" or "now" for a manual read).
        CREATE TABLE engagement (
            post_id TEXT NOT NULL,
            channel TEXT NOT NULL,
            part INTEGER NOT NULL,
            stage TEXT NOT NULL,
            taken_at TEXT NOT NULL,
            likes INTEGER NOT NULL DEFAULT 0,
            reposts INTEGER NOT NULL DEFAULT 0,
            replies INTEGER NOT NULL DEFAULT 0,
            quotes INTEGER NOT NULL DEFAULT 0,
            impressions INTEGER,               -- X only, when the API gives it
            PRIMARY KEY (post_id, channel, part, stage)
        );
        -- Live posts re-timed against the official statement list (`uprbuzz live align`).
        ALTER TABLE live_posts ADD COLUMN aligned_offset REAL;
        ALTER TABLE live_posts ADD COLUMN aligned_speaker TEXT;
        """,
    ),
]
