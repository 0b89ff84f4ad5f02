"""A Google provider ``google_cloud_platform`` connection works as ``gcp_conn_id``, each field spelling read."""

from __future__ import annotations

import json

import pytest

from airflow_tuning.common.connection import ConnectionConfigError
from airflow_tuning.hooks.tuning import GeminiTuningHook

PREFIX = "extra__google_cloud_platform__"


@pytest.fixture
def set_gcp_conn(monkeypatch):
    """A ``google_cloud_platform`` connection from extras, as the Google provider's users write it."""

    def _set(extra: dict, conn_id: str = "google_cloud_default") -> str:
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "google_cloud_platform", "extra": extra})
        )
        return conn_id

    return _set


@pytest.mark.parametrize("prefix", ["", PREFIX], ids=["plain", "prefixed"])
def test_project_and_keyfile_dict(set_gcp_conn, service_account_info, prefix):
    key = json.dumps(service_account_info)
    conn_id = set_gcp_conn({f"{prefix}project": "gcp-project", f"{prefix}keyfile_dict": key})
    hook = GeminiTuningHook(gcp_conn_id=conn_id)
    assert hook.project == "gcp-project"
    assert hook.location == "us-central1"
    creds = hook.get_credentials()
    assert creds.service_account_email == service_account_info["client_email"]
    assert list(creds.scopes) == ["https://www.googleapis.com/auth/cloud-platform"]


@pytest.mark.parametrize("prefix", ["", PREFIX], ids=["plain", "prefixed"])
def test_key_path(set_gcp_conn, service_account_info, tmp_path, prefix):
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(service_account_info))
    conn_id = set_gcp_conn({f"{prefix}project": "gcp-project", f"{prefix}key_path": str(path)})
    creds = GeminiTuningHook(gcp_conn_id=conn_id).get_credentials()
    assert creds.service_account_email == service_account_info["client_email"]


@pytest.mark.parametrize("prefix", ["", PREFIX], ids=["plain", "prefixed"])
@pytest.mark.parametrize("as_json", [True, False], ids=["json", "path"])
def test_credential_config_file(set_gcp_conn, tmp_path, prefix, as_json):
    """Workload identity federation: an external-account config, as a path or as its JSON."""
    from google.auth import external_account

    token = tmp_path / "token"
    token.write_text("subject-token")
    config = {
        "type": "external_account",
        "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": "http://127.0.0.1:9/token",
        "credential_source": {"file": str(token)},
    }
    path = tmp_path / "wif.json"
    path.write_text(json.dumps(config))
    value = json.dumps(config) if as_json else str(path)
    conn_id = set_gcp_conn({f"{prefix}project": "gcp-project", f"{prefix}credential_config_file": value})
    creds = GeminiTuningHook(gcp_conn_id=conn_id).get_credentials()
    assert isinstance(creds, external_account.Credentials)
    assert creds._audience == config["audience"]


@pytest.mark.parametrize("prefix", ["", PREFIX], ids=["plain", "prefixed"])
def test_scope_and_impersonation_chain(set_gcp_conn, service_account_info, prefix):
    from google.auth import impersonated_credentials

    conn_id = set_gcp_conn({
        f"{prefix}project": "gcp-project",
        f"{prefix}keyfile_dict": json.dumps(service_account_info),
        f"{prefix}scope": "https://www.googleapis.com/auth/cloud-platform, https://www.googleapis.com/auth/devstorage.read_write",
        f"{prefix}impersonation_chain": "first@p.iam.gserviceaccount.com,last@p.iam.gserviceaccount.com",
    })
    creds = GeminiTuningHook(gcp_conn_id=conn_id).get_credentials()
    assert isinstance(creds, impersonated_credentials.Credentials)
    assert creds._target_principal == "last@p.iam.gserviceaccount.com"
    assert creds._target_scopes == [
        "https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/devstorage.read_write"
    ]


def test_plain_field_wins_over_prefixed(set_gcp_conn):
    conn_id = set_gcp_conn({"project": "plain", f"{PREFIX}project": "prefixed"})
    assert GeminiTuningHook(gcp_conn_id=conn_id).project == "plain"


def test_project_falls_back_to_the_key(set_gcp_conn, service_account_info):
    conn_id = set_gcp_conn({"keyfile_dict": json.dumps(service_account_info)})
    assert GeminiTuningHook(gcp_conn_id=conn_id).project == "keyfile-project"


def test_location_from_the_task_else_the_extra_else_default(set_gcp_conn):
    conn_id = set_gcp_conn({"project": "p"})
    assert GeminiTuningHook(gcp_conn_id=conn_id).location == "us-central1"
    assert GeminiTuningHook(gcp_conn_id=conn_id, location="europe-west4").location == "europe-west4"
    conn_id = set_gcp_conn({"project": "p", "location": "asia-northeast1"}, conn_id="gcp_with_location")
    assert GeminiTuningHook(gcp_conn_id=conn_id).location == "asia-northeast1"
    assert GeminiTuningHook(gcp_conn_id=conn_id, location="europe-west4").location == "europe-west4"


def test_missing_project_names_the_field(set_gcp_conn):
    conn_id = set_gcp_conn({"scope": "https://www.googleapis.com/auth/cloud-platform"})
    with pytest.raises(ConnectionConfigError, match="'google_cloud_default'.*field 'project' is required"):
        GeminiTuningHook(gcp_conn_id=conn_id).project  # noqa: B018


def test_key_path_and_keyfile_dict_together_are_refused(set_gcp_conn, service_account_info, tmp_path):
    conn_id = set_gcp_conn({"project": "p", "key_path": str(tmp_path / "k.json"),
                            "keyfile_dict": json.dumps(service_account_info)})
    with pytest.raises(ConnectionConfigError, match="'key_path' and 'keyfile_dict' are mutually exclusive") as err:
        GeminiTuningHook(gcp_conn_id=conn_id).settings  # noqa: B018
    assert service_account_info["private_key_id"] not in str(err.value)


def test_secret_manager_key_is_refused_by_name(set_gcp_conn):
    conn_id = set_gcp_conn({"project": "p", f"{PREFIX}key_secret_name": "sa-key"})
    with pytest.raises(ConnectionConfigError, match="field 'key_secret_name' is not supported"):
        GeminiTuningHook(gcp_conn_id=conn_id).settings  # noqa: B018


def test_bad_keyfile_dict_names_the_field_without_the_secret(set_gcp_conn):
    secret = "-----BEGIN PRIVATE KEY-----super-secret"
    conn_id = set_gcp_conn({"project": "p", f"{PREFIX}keyfile_dict": '{"private_key": "' + secret + '", '})
    with pytest.raises(ConnectionConfigError, match="field 'keyfile_dict' is not valid JSON") as err:
        GeminiTuningHook(gcp_conn_id=conn_id).settings  # noqa: B018
    assert "super-secret" not in str(err.value)


def test_bad_credential_config_names_the_field_without_its_content(set_gcp_conn):
    config = '{"type": "external_account", "secret": "s3cr3t"}'
    conn_id = set_gcp_conn({"project": "p", "credential_config_file": config})
    with pytest.raises(ConnectionConfigError, match="field 'credential_config_file'") as err:
        GeminiTuningHook(gcp_conn_id=conn_id).get_credentials()
    assert "s3cr3t" not in str(err.value)


def test_secrets_stay_out_of_repr(set_gcp_conn, service_account_info):
    conn_id = set_gcp_conn({"project": "p", "keyfile_dict": json.dumps(service_account_info)})
    text = repr(GeminiTuningHook(gcp_conn_id=conn_id).settings)
    assert service_account_info["private_key"][40:80] not in text and "keyfile_dict" not in text


def test_tuning_job_through_a_google_cloud_connection(emulator, airflow_db, monkeypatch):
    """The real path: a task given ``gcp_conn_id="google_cloud_default"`` tunes on the emulator."""
    from tests.dag_results import states, xcom
    from tests.dags.google_cloud_connection import dag

    extra = {f"{PREFIX}project": emulator.project, **{k: v for k, v in emulator.connection_extra().items()
                                                        if k != "project"}}
    monkeypatch.setenv("AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT",
                       json.dumps({"conn_type": "google_cloud_platform", "extra": extra}))
    storage = GeminiTuningHook(gcp_conn_id="google_cloud_default").get_storage_client()
    bucket = storage.lookup_bucket("gcp-conn-data") or storage.create_bucket("gcp-conn-data")
    line = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}, {"role": "model", "parts": [{"text": "yo"}]}]}
    bucket.blob("train.jsonl").upload_from_string("\n".join(json.dumps(line) for _ in range(20)))
    run = dag.test()
    assert run.state == "success", states(run)
    summary = xcom(run, "tune")
    assert summary["tuning_job"].startswith(f"projects/{emulator.project}/locations/us-central1/tuningJobs/")
    assert summary["state"] == "JOB_STATE_SUCCEEDED"
    regional = xcom(run, "tune_in_region")
    assert regional["tuning_job"].startswith(f"projects/{emulator.project}/locations/europe-west4/tuningJobs/")
    assert regional["state"] == "JOB_STATE_SUCCEEDED"


def test_trigger_carries_the_task_location_and_no_secret():
    from airflow_tuning.triggers.tuning import TuningJobTrigger

    trigger = TuningJobTrigger("projects/p/locations/europe-west4/tuningJobs/1", gcp_conn_id="google_cloud_default",
                               location="europe-west4")
    path, kwargs = trigger.serialize()
    assert kwargs["location"] == "europe-west4" and kwargs["gcp_conn_id"] == "google_cloud_default"
    assert TuningJobTrigger(**kwargs).location == "europe-west4"
    assert "location" not in TuningJobTrigger("projects/p/locations/l/tuningJobs/1").serialize()[1]
