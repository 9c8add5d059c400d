"""The spec language: valid strings map to exact objects, invalid ones to exact messages."""

import pytest

from augmentlab.errors import SpecError
from augmentlab.registry.spec import (
    AugmentationSet,
    AugmentationTerm,
    LossSpec,
    LossTerm,
    parse_augmentation_set,
    parse_loss_spec,
)

T = AugmentationTerm


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("none", AugmentationSet(())),
        (" None ", AugmentationSet(())),
        ("hflip", AugmentationSet((T("hflip"),))),
        ("elastic,grid", AugmentationSet((T("elastic"), T("grid")))),
        ("elastic(alpha=2, sigma=40, p=0.5),hflip", AugmentationSet((T("elastic", (("alpha", 2), ("sigma", 40), ("p", 0.5))), T("hflip")))),
        (" elastic ( alpha = 2 ) , hflip ", AugmentationSet((T("elastic", (("alpha", 2),)), T("hflip")))),
        ("rot90(p=1)", AugmentationSet((T("rot90", (("p", 1),)),))),
        ("crop(scale=[0.5, 1.0])", AugmentationSet((T("crop", (("scale", (0.5, 1.0)),)),))),
        ("crop(scale=[])", AugmentationSet((T("crop", (("scale", ()),)),))),
        ("a(flag=true, other=False, x=none)", AugmentationSet((T("a", (("flag", True), ("other", False), ("x", None))),))),
        ("a(mode=ignore, path='x/y.pt', b=-1e-3, c=.5, d=+2)", AugmentationSet((T("a", (("mode", "ignore"), ("path", "x/y.pt"), ("b", -0.001), ("c", 0.5), ("d", 2))),))),
        ("hflip()", AugmentationSet((T("hflip"),))),
    ],
)
def test_augmentation_sets_parse_to_exact_objects(text, expected):
    assert parse_augmentation_set(text) == expected


def test_integer_and_float_values_keep_their_type():
    (term,) = parse_augmentation_set("a(i=3, f=3.0, e=1e2)")
    assert [type(value) for _, value in term.params] == [int, float, float]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "in spec '': the augmentation set is empty; write `none` for no augmentation"),
        ("elastic(alpha=2", "in spec 'elastic(alpha=2' (at column 8): unbalanced parentheses: '(' is never closed"),
        ("elastic)", "in spec 'elastic)' (at column 8): unbalanced parentheses: ')' closes nothing"),
        ("elastic(alpha=2))", "in spec 'elastic(alpha=2))' (at column 17): unbalanced parentheses: ')' closes nothing"),
        ("a(b=[1,2)]", "in spec 'a(b=[1,2)]' (at column 9): unbalanced parentheses: '[' at column 5 is closed by ')'"),
        ("hflip,,vflip", "in spec 'hflip,,vflip' (at column 7): empty term: remove the extra ','"),
        (",hflip", "in spec ',hflip' (at column 1): empty term: remove the extra ','"),
        ("hflip,", "in spec 'hflip,' (at column 7): empty term: remove the extra ','"),
        ("elastic(alpha=2,,p=1)", "in spec 'elastic(alpha=2,,p=1)' (at column 17): empty parameter in the parameters of 'elastic'"),
        ("elastic(alpha)", "in spec 'elastic(alpha)' (at column 9): parameter 'alpha' of 'elastic' needs a value: write alpha=VALUE"),
        ("elastic(alpha=)", "in spec 'elastic(alpha=)' (at column 15): parameter 'alpha' has no value after '='"),
        ("elastic(alpha=2x)", "in spec 'elastic(alpha=2x)' (at column 15): bad number '2x' for parameter 'alpha'"),
        ("elastic(alpha=1.2.3)", "in spec 'elastic(alpha=1.2.3)' (at column 15): bad number '1.2.3' for parameter 'alpha'"),
        ("a(b=[1,x])", "in spec 'a(b=[1,x])' (at column 8): bad number in the list of parameter 'b': 'x'"),
        ("a(b=[1,,2])", "in spec 'a(b=[1,,2])' (at column 8): bad number in the list of parameter 'b': an empty item"),
        ("a(b=c d)", "in spec 'a(b=c d)' (at column 5): bad value 'c d' for parameter 'b'; quote text values"),
        ("elastic(=2)", "in spec 'elastic(=2)' (at column 9): expected NAME=VALUE in the parameters of 'elastic', found '=2'"),
        ("elastic(alpha=2, alpha=3)", "in spec 'elastic(alpha=2, alpha=3)' (at column 18): parameter 'alpha' of 'elastic' is given twice"),
        ("hflip vflip", "in spec 'hflip vflip' (at column 7): unexpected 'vflip' after 'hflip'; separate augmentations with ','"),
        ("hflip(p=1)x", "in spec 'hflip(p=1)x' (at column 11): unexpected 'x' after 'hflip(p=1)'; separate augmentations with ','"),
        ("none,hflip", "in spec 'none,hflip' (at column 1): 'none' means no augmentation and stands alone"),
        ("hflip,hflip", "in spec 'hflip,hflip' (at column 7): augmentation 'hflip' is listed twice"),
        ("3d", "in spec '3d' (at column 1): expected an augmentation name, found '3d'"),
    ],
)
def test_malformed_augmentation_sets_say_what_and_where(text, message):
    with pytest.raises(SpecError) as error:
        parse_augmentation_set(text)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ce", LossSpec((LossTerm("ce"),))),
        ("ce0.8+focal0.2", LossSpec((LossTerm("ce", 0.8), LossTerm("focal", 0.2)))),
        ("0.8*ce+0.2*focal(gamma=3)", LossSpec((LossTerm("ce", 0.8), LossTerm("focal", 0.2, (("gamma", 3),))))),
        ("focal(gamma=2)0.2+ce0.8", LossSpec((LossTerm("focal", 0.2, (("gamma", 2),)), LossTerm("ce", 0.8)))),
        (" ce 0.5 + 2 * dice ", LossSpec((LossTerm("ce", 0.5), LossTerm("dice", 2.0)))),
        ("ce2", LossSpec((LossTerm("ce", 2.0),))),
        ("ce.5", LossSpec((LossTerm("ce", 0.5),))),
        ("ce1e-3", LossSpec((LossTerm("ce", 0.001),))),
        ("ohem_ce+l2_dice", LossSpec((LossTerm("ohem_ce"), LossTerm("l2_dice")))),
        ("ce(weight=[1, 2.5, 3])", LossSpec((LossTerm("ce", 1.0, (("weight", (1, 2.5, 3)),)),))),
    ],
)
def test_loss_specs_parse_to_exact_objects(text, expected):
    assert parse_loss_spec(text) == expected


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("0.8*ce+0.2*focal(gamma=3)", "ce0.8+focal(gamma=3)0.2"),
        ("ce1+focal1", "ce+focal"),
        ("ce(label_smoothing=0.10)", "ce(label_smoothing=0.1)"),
    ],
)
def test_loss_specs_print_canonically(text, canonical):
    assert str(parse_loss_spec(text)) == canonical


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("elastic( alpha = 2 ),hflip", "elastic(alpha=2),hflip"),
        ("none", "none"),
        ("a(s='x y', f=false, l=[1, 2.5])", "a(s='x y', f=false, l=[1, 2.5])"),
    ],
)
def test_augmentation_sets_print_canonically(text, canonical):
    assert str(parse_augmentation_set(text)) == canonical
    assert parse_augmentation_set(canonical) == parse_augmentation_set(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "in spec '': the loss spec is empty; write for example `ce`"),
        ("ce+", "in spec 'ce+' (at column 4): empty term: remove the extra '+'"),
        ("+ce", "in spec '+ce' (at column 1): empty term: remove the extra '+'"),
        ("ce++focal", "in spec 'ce++focal' (at column 4): empty term: remove the extra '+'"),
        ("ce0", "in spec 'ce0' (at column 3): weight of loss 'ce' must be positive, got 0"),
        ("ce-0.2", "in spec 'ce-0.2' (at column 3): weight of loss 'ce' must be positive, got -0.2"),
        ("-0.2*ce", "in spec '-0.2*ce' (at column 1): weight of loss 'ce' must be positive, got -0.2"),
        ("0*ce", "in spec '0*ce' (at column 1): weight of loss 'ce' must be positive, got 0"),
        ("ce0.8.1", "in spec 'ce0.8.1' (at column 3): bad weight '0.8.1' for loss 'ce'"),
        ("x*ce", "in spec 'x*ce' (at column 1): bad weight 'x' for loss 'ce'"),
        ("ce*0.5", "in spec 'ce*0.5' (at column 1): write the weight first: 0.5*ce"),
        ("0.5*ce0.2", "in spec '0.5*ce0.2' (at column 7): loss 'ce' has two weights; give one"),
        ("0.5**ce", "in spec '0.5**ce' (at column 5): a loss term takes one weight, written WEIGHT*NAME or NAMEWEIGHT"),
        ("*ce", "in spec '*ce' (at column 1): missing weight before '*'"),
        ("0.5*", "in spec '0.5*' (at column 4): missing loss name after '*'"),
        ("ce0.8-focal0.2", "in spec 'ce0.8-focal0.2' (at column 3): unexpected '0.8-focal0.2' after 'ce'; join loss terms with '+'"),
        ("0.8ce", "in spec '0.8ce' (at column 4): expected a loss name, found '0.8ce'; write WEIGHT*NAME, e.g. 0.8*ce"),
        ("focal(gamma=2", "in spec 'focal(gamma=2' (at column 6): unbalanced parentheses: '(' is never closed"),
        ("focal(gamma=2))", "in spec 'focal(gamma=2))' (at column 15): unbalanced parentheses: ')' closes nothing"),
        ("focal(gamma=x1)", None),
        ("focal(gamma=1x)", "in spec 'focal(gamma=1x)' (at column 13): bad number '1x' for parameter 'gamma'"),
        ("focal(gamma=2)x", "in spec 'focal(gamma=2)x' (at column 15): unexpected 'x' after loss 'focal'"),
        ("ce abc", "in spec 'ce abc' (at column 4): unexpected 'abc' after loss 'ce'"),
        ("ce+ce", "in spec 'ce+ce' (at column 4): loss 'ce' appears twice; give each loss once"),
    ],
)
def test_malformed_loss_specs_say_what_and_where(text, message):
    if message is None:  # a text value is valid syntax; the loss itself rejects it when built
        assert parse_loss_spec(text) == LossSpec((LossTerm("focal", 1.0, (("gamma", "x1"),)),))
        return
    with pytest.raises(SpecError) as error:
        parse_loss_spec(text)
    assert str(error.value) == message


def test_spec_errors_carry_the_offending_position():
    with pytest.raises(SpecError) as error:
        parse_loss_spec("ce0.8+focal(gamma=2")
    assert (error.value.spec, error.value.position) == ("ce0.8+focal(gamma=2", 11)
    assert error.value.spec[error.value.position] == "("
