"""Evaluation (评标): the committee from the expert draw reviews and scores the opened bids
and its report ranks the candidates. One module per stage:

- :mod:`~bidding.evaluation.stages`: the stages in order; :mod:`~bidding.evaluation.records`: the round's tables;
  :mod:`~bidding.evaluation.rounds`: reading the current round; :mod:`~bidding.evaluation.grounds`: the
  rejection grounds; :mod:`~bidding.evaluation.scoring`: methods and scores (pure).
- :mod:`~bidding.evaluation.scheme` (1), :mod:`~bidding.evaluation.sitting` (2, 3),
  :mod:`~bidding.evaluation.review` (4), :mod:`~bidding.evaluation.report` (5) and
  :mod:`~bidding.evaluation.expert_keys`, :mod:`~bidding.evaluation.views` (what each role sees),
  :mod:`~bidding.evaluation.candidates`, :mod:`~bidding.evaluation.documents`.

1. :func:`set_evaluation_scheme`: the tendering party or its agency fixes the method and
   scores (:mod:`bidding.evaluation.scoring`) while the tender is ``registered`` or ``announced``;
   from the start of bidding the scheme is frozen (招标投标法 第四十条: the committee
   evaluates by the standards and method the tender documents fix).
2. :func:`start_evaluation_session` (tender ``evaluating``): the project's committee is
   unsealed if it is not yet, its confirmed experts become the members, the decrypted
   opening entries become the bids; a bid above the announced maximum price is proposed
   for ground 5. Round 1, then a new round after an upheld complaint (``tender.reevaluate``).
3. :func:`vote_for_chair`: a member with more than half of the members' votes is chair
   (评标委员会推选组长); when all have voted without a majority the votes start over.
4. Qualification review (资格审查), preliminary review (初步评审), detailed review (详细评审):
   each member records pass or reject (:func:`record_review`) with a ground of
   招标投标法实施条例 第五十一条 and reasons; in the detailed review members also score each
   bid's items (:func:`record_scores`). The chair closes each stage (:func:`close_stage`):
   a bid is rejected when a majority of members reject it (少数服从多数). After the detailed
   review the system computes price scores, final scores and the ranking, and draws up
   the report. When every bid is rejected the tender fails (招标投标法 第四十二条).
5. The report: each member signs (:func:`sign_report`: an Ed25519 signature of the
   canonical report with the key they registered, :func:`register_expert_key`, or a
   recorded confirmation) or records dissent (:func:`record_dissent`). When all have done
   one or the other, or when the chair or the center closes it (:func:`complete_report`;
   a member who did neither is deemed to agree, 实施条例 第五十三条, and is named), the
   candidates are stored (:func:`bidding.evaluation.candidates.record_candidates`).

Every step is audited under ``project:<code>``. What experts see of a bid is what the
opening kept: bidder, price and duration (the opening does not keep the decrypted
documents).
"""
