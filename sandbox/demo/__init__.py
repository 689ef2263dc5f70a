"""A believable, reproducible demo world for the sandbox.

Ops, finance and managers judge the product by what they see in a demo, and the income
detector and ownership matcher are tested against the truth planted here, so the data has to
look like real bank data: payroll that lands on the previous business day when payday is a
holiday, owners written "SMITH, JOHN" by one bank and "John A Smith" by another, a few
accounts that belong to somebody else, stale balances, microdeposits that time out.

Everything is derived from the seed through per-customer and per-account sub-seeds (never the
global RNG or ``hash()``), so one seed and one ``now`` always give the same world, and customer
``i`` does not depend on how many customers were asked for. Transactions are expensive (a
year of them per account), so :func:`generate` only plants a per-account ``txn_seed`` and the
income truth; :func:`transactions_for` / :func:`ledger` build the history on demand.

| module | what |
|---|---|
| ``model`` | the world as plain data (``DemoWorld``, ``DemoCustomer``, ``DemoAccount`` …) |
| ``world`` | :func:`generate`: customers, their accounts and intents |
| ``people``, ``names`` | names, emails, phones, addresses (``names`` is a data table) |
| ``owners`` | account owners as banks write them (ownership truth) |
| ``accounts``, ``banks`` | linked accounts, balances; the demo banks |
| ``income`` | planted recurring deposits (income truth) and their paydays |
| ``intents``, ``dynamic`` | SetupIntents/PaymentIntents and their outcomes; card and Link offers |
| ``simulation``, ``ledger``, ``merchants`` | a year of transactions per account, on demand |
| ``seeds`` | sub-seeds, weighted choices, date helpers |
| ``seed``, ``history``, ``other_methods`` | loading the world into a sandbox ``State`` |
"""

from sandbox.demo.banks import institutions
from sandbox.demo.income import PayStream, pay_streams
from sandbox.demo.ledger import ledger, transactions_for
from sandbox.demo.seeds import HISTORY_DAYS, INTENT_WINDOW_DAYS
from sandbox.demo.simulation import Ledger
from sandbox.demo.world import generate

__all__ = [
    "HISTORY_DAYS",
    "INTENT_WINDOW_DAYS",
    "Ledger",
    "PayStream",
    "generate",
    "institutions",
    "ledger",
    "pay_streams",
    "transactions_for",
]
