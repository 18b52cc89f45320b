"""Checking answers: answers files, verdicts with follow-through, likely causes, reports.

    answers.py, written.py      read and validate an answers file (numbers keep their written digits)
    state_claims.py             claims on an optimizer's state (m(W[1]), exp_avg_sq(b[2])) and ``step = k``
    check.py                    the verdict on every claim, in dependency order
    nodes.py, graph.py          the quantities of one gradient step and how each follows from the others,
                                computed by the evaluator's steps (``evaluation.steps``)
    variant.py                  a mistake = the same steps with one swapped (``MistakenSteps``)
    optimizer_mistakes.py       the optimizer's mistakes, as rewrites of its rule's SymPy lines
    world.py                    values with claimed numbers in place, and how far they may spread
    mistakes.py, explain.py     the catalogue of mistakes, and the causes that reproduce wrong numbers
    mistake_cause.py            ``Cause``: a mistake's id and details
    formulas.py, expression.py  formula claims, checked symbolically against the evaluator's expressions
    counterexample.py           a point where two expressions differ, else SymPy's reduction to 0
    compare.py                  a claimed number against a computed one (tolerance, truncation, digit slips)
    report.py                   the report: text in English or Portuguese, or JSON
    optimizer_words.py          the report's words for the optimizer's causes (beside documents/words.py)
"""
