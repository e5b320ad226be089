import pytest

from mlwright import errors as E


@pytest.mark.parametrize(
    "cls,builtin",
    [
        (E.ConfigError, ValueError),
        (E.DataReadError, ValueError),
        (E.TargetNotFoundError, KeyError),
        (E.NotFittedError, AttributeError),
        (E.BudgetExhaustedError, TimeoutError),
        (E.ArtifactIntegrityError, ValueError),
        (E.ColumnsMismatchError, ValueError),
        (E.ModelNotFoundError, LookupError),
        (E.RegistryError, ValueError),
        (E.StoreError, RuntimeError),
    ],
)
def test_errors_are_also_the_builtin_users_expect(cls, builtin):
    err = cls("message")
    assert isinstance(err, E.MlwrightError) and isinstance(err, builtin)
    assert str(err) == "message"  # KeyError would otherwise add quotes
    assert err.code and err.code != E.MlwrightError.code


def test_every_error_has_a_distinct_code():
    classes = [getattr(E, n) for n in E.__all__ if isinstance(getattr(E, n), type)]
    classes = [c for c in classes if issubclass(c, E.MlwrightError)]  # MlwrightWarning is not an error
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))


def test_closest_suggests_case_and_typos():
    assert E.closest("Age", ["age", "income"]) == ["age"]
    assert "income" in E.closest("incom", ["age", "income"])
    assert E.did_you_mean("zzz", ["age"]) == ""
