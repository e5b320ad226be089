import mlwright


def test_all_is_the_contract():
    assert sorted(mlwright.__all__) == sorted(
        [
            "Anomaly",
            "AutoML",
            "Budget",
            "Cluster",
            "Forecaster",
            "Limits",
            "MlwrightError",
            "Schema",
            "Snapshot",
            "SqlSource",
            "__version__",
            "from_onnx",
            "from_sklearn",
            "load",
            "profile",
        ]
    )
    for name in mlwright.__all__:
        assert hasattr(mlwright, name)
