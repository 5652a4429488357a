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
