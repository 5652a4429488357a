-- nocfit warehouse schema (DuckDB). Applied to every new snapshot; statements are idempotent.
-- Codes are always VARCHAR with leading zeros. Documented for analysts in docs/warehouse.md.

CREATE SCHEMA IF NOT EXISTS meta;
CREATE SCHEMA IF NOT EXISTS noc;
CREATE SCHEMA IF NOT EXISTS ircc;
CREATE SCHEMA IF NOT EXISTS mapper;
CREATE SCHEMA IF NOT EXISTS candidates;

-- ---------------------------------------------------------------- meta
CREATE TABLE IF NOT EXISTS meta.schema_info (
    schema_version VARCHAR NOT NULL,
    created_at     TIMESTAMP NOT NULL
);

-- One row per source file currently loaded.
CREATE TABLE IF NOT EXISTS meta.source_files (
    source_key  VARCHAR PRIMARY KEY,
    file_name   VARCHAR NOT NULL,
    source_url  VARCHAR,
    sha256      VARCHAR NOT NULL,
    bytes       BIGINT NOT NULL,
    rows        BIGINT NOT NULL,
    tables      VARCHAR[] NOT NULL,
    loaded_at   TIMESTAMP NOT NULL
);

-- Every time a source's content changed (first load included: old_sha256 is NULL).
CREATE TABLE IF NOT EXISTS meta.source_changes (
    source_key  VARCHAR NOT NULL,
    file_name   VARCHAR NOT NULL,
    old_sha256  VARCHAR,
    new_sha256  VARCHAR NOT NULL,
    rows_before BIGINT,
    rows_after  BIGINT NOT NULL,
    changed_at  TIMESTAMP NOT NULL
);

-- What each derived asset was last built from, so unchanged inputs skip the work.
CREATE TABLE IF NOT EXISTS meta.asset_fingerprints (
    asset       VARCHAR PRIMARY KEY,
    fingerprint VARCHAR NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

-- ---------------------------------------------------------------- noc
CREATE TABLE IF NOT EXISTS noc.structure (
    level      INTEGER NOT NULL,
    hierarchy  VARCHAR NOT NULL,
    code       VARCHAR PRIMARY KEY,
    title      VARCHAR NOT NULL,
    definition VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS noc.unit_groups (
    code                 VARCHAR PRIMARY KEY,
    title                VARCHAR NOT NULL,
    definition           VARCHAR NOT NULL,
    teer                 INTEGER NOT NULL,
    broad_category_code  VARCHAR NOT NULL,
    broad_category_title VARCHAR NOT NULL,
    major_group_code     VARCHAR NOT NULL,
    major_group_title    VARCHAR NOT NULL,
    sub_major_group_code VARCHAR NOT NULL,
    sub_major_group_title VARCHAR NOT NULL,
    minor_group_code     VARCHAR NOT NULL,
    minor_group_title    VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS noc.profiles (
    profile_code VARCHAR PRIMARY KEY,
    code         VARCHAR NOT NULL,
    label        VARCHAR NOT NULL
);

-- title_type: index | example | inclusion (OaSIS), profile_label (OaSIS label), class_title (StatCan)
CREATE TABLE IF NOT EXISTS noc.titles (
    code               VARCHAR NOT NULL,
    title              VARCHAR NOT NULL,
    title_type         VARCHAR NOT NULL,
    profile_code       VARCHAR,
    concordance_number INTEGER
);

-- 'All examples' title index: StatCan elements CSV and/or the derived bilingual file, when present.
CREATE TABLE IF NOT EXISTS noc.all_examples (
    code   VARCHAR NOT NULL,
    title  VARCHAR NOT NULL,
    lang   VARCHAR NOT NULL,
    source VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS noc.main_duties (
    code         VARCHAR NOT NULL,
    profile_code VARCHAR NOT NULL,
    seq          INTEGER NOT NULL,
    duty         VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS noc.lead_statements (
    code         VARCHAR NOT NULL,
    profile_code VARCHAR NOT NULL,
    seq          INTEGER NOT NULL,
    statement    VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS noc.exclusions (
    code                  VARCHAR NOT NULL,
    profile_code          VARCHAR NOT NULL,
    excluded_code         VARCHAR NOT NULL,
    excluded_profile_code VARCHAR,  -- NULL when the exclusion names a whole unit group
    title                 VARCHAR,
    excluded_label        VARCHAR
);

CREATE TABLE IF NOT EXISTS noc.employment_requirements (
    code         VARCHAR NOT NULL,
    profile_code VARCHAR NOT NULL,
    seq          INTEGER NOT NULL,
    requirement  VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS noc.additional_information (
    code         VARCHAR NOT NULL,
    profile_code VARCHAR NOT NULL,
    seq          INTEGER NOT NULL,
    information  VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS noc.workplaces (
    code         VARCHAR NOT NULL,
    profile_code VARCHAR NOT NULL,
    workplace    VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS noc.concordance_2016_2021 (
    noc2016_code  VARCHAR NOT NULL,
    noc2016_title VARCHAR NOT NULL,
    change_type   VARCHAR NOT NULL,
    change_codes  VARCHAR[] NOT NULL,
    change_names  VARCHAR[] NOT NULL,
    noc2021_code  VARCHAR NOT NULL,
    noc2021_title VARCHAR NOT NULL,
    notes         VARCHAR
);

-- ---------------------------------------------------------------- ircc
-- Curated Express Entry category lists (data/categories/cbs-*.yaml, one row per file) and the IRCC
-- rounds of invitations. Dates are inclusive; effective_to NULL = still in force.
CREATE TABLE IF NOT EXISTS ircc.category_versions (
    version_id           VARCHAR PRIMARY KEY,  -- 'cbs-2026', also the file name without .yaml
    label                VARCHAR NOT NULL,
    effective_from       DATE NOT NULL,
    effective_to         DATE,
    effective_from_basis VARCHAR NOT NULL,
    effective_to_basis   VARCHAR NOT NULL,
    noc_version          VARCHAR NOT NULL,
    common_requirement   VARCHAR NOT NULL,  -- what every category of the version also needs
    category_count       INTEGER NOT NULL,
    notes                VARCHAR[] NOT NULL,
    file_name            VARCHAR NOT NULL,
    file_sha256          VARCHAR NOT NULL,
    definition           JSON NOT NULL  -- the whole validated version, read back by `nocfit fit`
);

-- Sources cited by each version; ircc.categories.citations holds citation_id values.
CREATE TABLE IF NOT EXISTS ircc.citations (
    version_id  VARCHAR NOT NULL,
    citation_id VARCHAR NOT NULL,
    type        VARCHAR NOT NULL,  -- official | official-copy | official-data | third-party | repository
    title       VARCHAR NOT NULL,
    publisher   VARCHAR,
    url         VARCHAR,
    date        VARCHAR,  -- as precise as known: '2026-02-18', '2026-02', '2025'
    supports    VARCHAR NOT NULL,
    caveat      VARCHAR,
    PRIMARY KEY (version_id, citation_id)
);

-- One row per category of a version, its rules as columns. NULL = does not apply; continuous
-- is 'unknown' when the sources do not settle it. effective_from/to are the category's own
-- dates when it started or ended inside its version, else its version's.
CREATE TABLE IF NOT EXISTS ircc.categories (
    version_id                     VARCHAR NOT NULL,
    category_id                    VARCHAR NOT NULL,  -- stable across versions ('trades')
    name                           VARCHAR NOT NULL,
    kind                           VARCHAR NOT NULL CHECK (kind IN ('occupation', 'language', 'other')),
    effective_from                 DATE NOT NULL,
    effective_to                   DATE,
    min_months                     INTEGER,  -- of experience within the last window_months
    window_months                  INTEGER,
    continuous                     VARCHAR CHECK (continuous IN ('true', 'false', 'unknown')),
    single_occupation              BOOLEAN,
    full_time_hours_per_week       DOUBLE,
    experience_location            VARCHAR,  -- canada_or_abroad | canada_only
    canadian_experience_required   BOOLEAN NOT NULL,
    canadian_experience_min_months INTEGER,
    language                       VARCHAR,  -- fr | en
    language_scale                 VARCHAR,  -- NCLC | CLB
    language_min_level             INTEGER,
    language_abilities             VARCHAR[],
    test_validity_months           INTEGER,
    assessable                     BOOLEAN NOT NULL,  -- false: nocfit's data cannot show the requirements
    not_assessable_reason          VARCHAR,
    other_requirements             VARCHAR[] NOT NULL,
    rules_confidence               VARCHAR NOT NULL,  -- high | medium-high | medium | low
    confidence                     VARCHAR NOT NULL,  -- of the occupation list as compiled
    citations                      VARCHAR[] NOT NULL,
    notes                          VARCHAR[] NOT NULL,
    noc_count                      INTEGER NOT NULL,
    PRIMARY KEY (version_id, category_id)
);

-- The NOC 2021 unit groups listed by each category (title = official class title).
CREATE TABLE IF NOT EXISTS ircc.category_occupations (
    version_id  VARCHAR NOT NULL,
    category_id VARCHAR NOT NULL,
    noc_code    VARCHAR NOT NULL,
    title       VARCHAR NOT NULL,
    confidence  VARCHAR NOT NULL,
    PRIMARY KEY (version_id, category_id, noc_code)
);

-- Every IRCC round name (data/categories/draw_names.yaml). Category names carry the category and
-- the versions the name was used under; general and program names have category_id NULL.
CREATE TABLE IF NOT EXISTS ircc.draw_names (
    draw_name   VARCHAR PRIMARY KEY,  -- exactly as published in the rounds JSON
    kind        VARCHAR NOT NULL CHECK (kind IN ('category', 'non_category')),
    round_type  VARCHAR NOT NULL CHECK (round_type IN ('general', 'program-specific', 'category-based')),
    category_id VARCHAR,
    version_ids VARCHAR[]
);

-- Express Entry rounds of invitations (IRCC rounds JSON), one row per round, '91a'/'91b' kept.
CREATE TABLE IF NOT EXISTS ircc.rounds (
    round_number       VARCHAR PRIMARY KEY,  -- as published: '437', '91a'
    round_sort_key     INTEGER NOT NULL,     -- 91 -> 910, 91a -> 911: IRCC's numbering order
    round_date         DATE NOT NULL,
    round_name         VARCHAR NOT NULL,     -- drawName as published
    round_type         VARCHAR NOT NULL CHECK (round_type IN ('general', 'program-specific', 'category-based')),
    invitations        INTEGER NOT NULL,
    crs_cutoff         INTEGER NOT NULL,
    programs           VARCHAR,
    tie_break_at       VARCHAR,              -- tie-breaking rule as published, e.g. 'March 1, 2026 at 18:34:05 UTC'
    distribution_as_of DATE,
    url                VARCHAR,
    category_id        VARCHAR,              -- set exactly for category-based rounds
    version_id         VARCHAR
);

-- The version in force on day d (NULL before the first version): same as
-- nocfit.categories.load.version_in_force. E.g. SELECT ircc.version_in_force(DATE '2024-03-01').
CREATE OR REPLACE MACRO ircc.version_in_force(d) AS (
    SELECT version_id FROM ircc.category_versions
    WHERE effective_from <= d AND (effective_to IS NULL OR d <= effective_to)
    ORDER BY effective_from
    LIMIT 1
);

-- Categories in force on day d with their codes: one row per category x code, NULL code for a
-- category without codes. E.g. SELECT * FROM ircc.categories_on(DATE '2025-12-08').
CREATE OR REPLACE MACRO ircc.categories_on(d) AS TABLE
    SELECT CAST(d AS DATE) AS as_of, c.version_id, c.category_id, c.name, c.kind,
           o.noc_code, o.title AS noc_title, o.confidence AS noc_confidence,
           c.min_months, c.window_months, c.continuous, c.single_occupation, c.experience_location,
           c.canadian_experience_required, c.canadian_experience_min_months,
           c.language, c.language_scale, c.language_min_level, c.assessable,
           c.rules_confidence, c.confidence
    FROM ircc.categories c
    LEFT JOIN ircc.category_occupations o
           ON o.version_id = c.version_id AND o.category_id = c.category_id
    WHERE c.version_id = ircc.version_in_force(d)
      AND c.effective_from <= d AND (c.effective_to IS NULL OR d <= c.effective_to)
    ORDER BY c.category_id, o.noc_code;

-- Today's categories and codes.
CREATE OR REPLACE VIEW ircc.v_categories_in_force AS
    SELECT * FROM ircc.categories_on(current_date);

-- One row per day from the first version's start to today (or the last version's end if later).
CREATE OR REPLACE VIEW ircc.v_version_calendar AS
    WITH days AS (
        SELECT CAST(unnest(generate_series(
                   min(effective_from),
                   greatest(current_date, max(coalesce(effective_to, effective_from))),
                   INTERVAL 1 DAY)) AS DATE) AS day
        FROM ircc.category_versions
    )
    SELECT d.day, v.version_id, v.label
    FROM days d
    LEFT JOIN ircc.category_versions v
           ON v.effective_from <= d.day AND (v.effective_to IS NULL OR d.day <= v.effective_to)
    ORDER BY d.day;

-- Rounds per category and version (every category of every version, 0 rounds included).
CREATE OR REPLACE VIEW ircc.v_category_version_rounds AS
    SELECT c.category_id, c.version_id, c.name, c.kind,
           count(r.round_number) AS rounds,
           CAST(coalesce(sum(r.invitations), 0) AS BIGINT) AS invitations,
           min(r.crs_cutoff) AS min_crs_cutoff,
           median(r.crs_cutoff) AS median_crs_cutoff,
           arg_max(r.crs_cutoff, r.round_sort_key) AS latest_crs_cutoff,
           min(r.round_date) AS first_round_date,
           max(r.round_date) AS last_round_date
    FROM ircc.categories c
    LEFT JOIN ircc.rounds r ON r.category_id = c.category_id AND r.version_id = c.version_id
    GROUP BY ALL
    ORDER BY c.category_id, c.version_id;

-- Rounds per category across versions (name from the newest version listing the category).
CREATE OR REPLACE VIEW ircc.v_category_rounds AS
    WITH names AS (
        SELECT c.category_id, arg_max(c.name, v.effective_from) AS name,
               arg_max(c.kind, v.effective_from) AS kind,
               list_sort(list(c.version_id)) AS version_ids
        FROM ircc.categories c JOIN ircc.category_versions v USING (version_id)
        GROUP BY c.category_id
    )
    SELECT n.category_id, n.name, n.kind, n.version_ids,
           count(r.round_number) AS rounds,
           CAST(coalesce(sum(r.invitations), 0) AS BIGINT) AS invitations,
           min(r.crs_cutoff) AS min_crs_cutoff,
           median(r.crs_cutoff) AS median_crs_cutoff,
           arg_max(r.crs_cutoff, r.round_sort_key) AS latest_crs_cutoff,
           min(r.round_date) AS first_round_date,
           max(r.round_date) AS last_round_date
    FROM names n
    LEFT JOIN ircc.rounds r ON r.category_id = n.category_id
    GROUP BY ALL
    ORDER BY n.category_id;

-- ---------------------------------------------------------------- mapper
-- Every evaluation of a trained model (candidate of a run, and the promoted model it is compared with).
-- source = 'all' for the whole set, else one row per source of the labelled set.
CREATE TABLE IF NOT EXISTS mapper.evaluations (
    run_id            VARCHAR NOT NULL,
    model_role        VARCHAR NOT NULL,  -- candidate | promoted
    model_fingerprint VARCHAR,
    trained_at        TIMESTAMP,
    dataset           VARCHAR NOT NULL,  -- labelled file name, or held_out_official
    dataset_sha256    VARCHAR,
    source            VARCHAR NOT NULL,
    items             INTEGER,
    top1              DOUBLE,
    top5              DOUBLE,
    ece               DOUBLE,
    mean_confidence   DOUBLE,
    evaluated_at      TIMESTAMP NOT NULL
);

-- Each labelled item as each model of an evaluation ranked it: the gate compares the two models
-- item by item (which items the candidate lost and gained), and analysts can see which ones.
CREATE TABLE IF NOT EXISTS mapper.evaluation_items (
    run_id            VARCHAR NOT NULL,
    model_role        VARCHAR NOT NULL,  -- candidate | promoted
    position          INTEGER NOT NULL,  -- line order in the labelled file (ids need not be unique)
    item_id           VARCHAR,
    source            VARCHAR,
    true_code         VARCHAR NOT NULL,
    top_code          VARCHAR,           -- the model's first suggestion (NULL: no suggestion)
    confidence        DOUBLE,            -- of top_code
    true_rank         INTEGER            -- rank of true_code among the suggestions, NULL if absent
);

-- Every model promoted to current.
CREATE TABLE IF NOT EXISTS mapper.promotions (
    run_id            VARCHAR NOT NULL,
    model_fingerprint VARCHAR,
    trained_at        TIMESTAMP,
    promoted_at       TIMESTAMP NOT NULL,
    training_seconds  DOUBLE,
    noc_version       VARCHAR,
    path              VARCHAR NOT NULL
);

-- ---------------------------------------------------------------- candidates
-- Personal data: these tables hold what candidates submitted. Logs and Dagster metadata carry
-- only batch ids, candidate ids and counts. Every row belongs to a batch (an inbox file, or
-- 'examples'); re-running a batch replaces its rows.
CREATE TABLE IF NOT EXISTS candidates.candidates (
    batch_id       VARCHAR NOT NULL,
    candidate_id   VARCHAR NOT NULL,
    line           INTEGER,           -- line of the input file
    as_of          DATE NOT NULL,     -- assessment date (input, or the run date)
    version_id     VARCHAR,           -- category list in force on as_of (NULL before 2023-05-31)
    spells         INTEGER NOT NULL,
    language_tests INTEGER NOT NULL,
    loaded_at      TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS candidates.work_experience (
    batch_id       VARCHAR NOT NULL,
    candidate_id   VARCHAR NOT NULL,
    spell_index    INTEGER NOT NULL,  -- 0-based position in the input
    title          VARCHAR,
    duties         VARCHAR,
    employer       VARCHAR,
    country        VARCHAR NOT NULL,  -- ISO 3166-1 alpha-2
    start_date     DATE NOT NULL,
    end_date       DATE,              -- NULL = ongoing
    hours_per_week DOUBLE NOT NULL,
    claimed_noc    VARCHAR            -- the code the candidate claimed, if any
);

CREATE TABLE IF NOT EXISTS candidates.languages (
    batch_id     VARCHAR NOT NULL,
    candidate_id VARCHAR NOT NULL,
    test_index   INTEGER NOT NULL,
    language     VARCHAR NOT NULL,    -- fr | en
    test         VARCHAR,
    test_date    DATE NOT NULL,
    listening    INTEGER NOT NULL,    -- NCLC (fr) / CLB (en) levels
    reading      INTEGER NOT NULL,
    speaking     INTEGER NOT NULL,
    writing      INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS candidates.rejects (
    batch_id     VARCHAR NOT NULL,
    line         INTEGER NOT NULL,
    candidate_id VARCHAR,
    reason       VARCHAR NOT NULL,
    rejected_at  TIMESTAMP NOT NULL
);

-- The mapper's top suggestions for each work spell, best first.
CREATE TABLE IF NOT EXISTS candidates.noc_suggestions (
    batch_id              VARCHAR NOT NULL,
    candidate_id          VARCHAR NOT NULL,
    spell_index           INTEGER NOT NULL,
    rank                  INTEGER NOT NULL,
    code                  VARCHAR NOT NULL,
    title                 VARCHAR NOT NULL,
    confidence            DOUBLE NOT NULL,
    method                VARCHAR NOT NULL,
    ambiguous             BOOLEAN NOT NULL,
    title_duties_disagree BOOLEAN NOT NULL
);

-- One row per candidate x category of the version in force on the candidate's as_of.
CREATE TABLE IF NOT EXISTS candidates.category_fit (
    batch_id             VARCHAR NOT NULL,
    candidate_id         VARCHAR NOT NULL,
    as_of                DATE NOT NULL,
    version_id           VARCHAR NOT NULL,
    category_id          VARCHAR NOT NULL,
    category_name        VARCHAR NOT NULL,
    status               VARCHAR NOT NULL,  -- fit | no_fit | not_assessable
    fit                  BOOLEAN,           -- NULL when not assessable
    confidence           DOUBLE,            -- P(meets the requirements); NULL when not assessable
    qualifying_months    DOUBLE NOT NULL,
    best_noc             VARCHAR,
    reasons              VARCHAR[] NOT NULL,
    claimed_noc_mismatch BOOLEAN NOT NULL
);

CREATE OR REPLACE VIEW candidates.v_fit_summary AS
SELECT version_id,
       category_id,
       any_value(category_name)                                AS category_name,
       count(*)                                                AS candidates,
       count(*) FILTER (WHERE status <> 'not_assessable')      AS candidates_assessed,
       count(*) FILTER (WHERE fit)                             AS candidates_fitting,
       count(*) FILTER (WHERE status = 'not_assessable')       AS not_assessable,
       median(confidence)                                      AS median_confidence,
       median(confidence) FILTER (WHERE fit)                   AS median_confidence_fitting
FROM candidates.category_fit
GROUP BY version_id, category_id
ORDER BY version_id, category_id;
