"""The services the pages share: settings for a hosted copy."""


def test_a_setting_comes_from_the_environment_then_a_secret_then_its_default(monkeypatch):
    from nnapps.ui import services
    monkeypatch.delenv("NNAPPS_MAX_TRAININGS", raising=False)
    monkeypatch.setattr(services.st, "secrets", {"NNAPPS_MAX_TRAININGS": 1})
    assert services.setting("NNAPPS_MAX_TRAININGS", "4") == "1"
    assert services.setting("NNAPPS_OTHER", "4") == "4"
    monkeypatch.setenv("NNAPPS_MAX_TRAININGS", "3")
    assert services.setting("NNAPPS_MAX_TRAININGS", "4") == "3"
