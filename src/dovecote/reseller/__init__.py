"""The reseller program: client accounts a reseller owns, prices them and funds them."""
