"""The tendering party's and the agency's pages (招标人/代理机构工作台), under ``/party``.

Both act for the projects they are party to: the tendering party for its own, the agency
for those it was drawn to serve (:func:`bidding.tender.party_projects.acts_for`, the same check
the JSON API makes); any other project is refused. Every act calls the same service
function as the API: registration (进场登记), the announcement with the tender documents,
later versions, clarifications, answers to objections, room bookings (the agency, as in
the API), the choice of the winner among the candidates, answers to objections to the
result, and the contract. Forms work without JavaScript; an error re-renders the form
with what was typed and the Chinese message beside its field.
"""
