"""Unit tests for the detection_helpers global (plain unittest, collected by pytest too)."""

import unittest

import detection_helpers as helpers
from panther_core.enriched_event import PantherEvent


class DigTest(unittest.TestCase):
    def test_nested_value(self):
        self.assertEqual(helpers.dig({"a": {"b": 1}}, "a", "b"), 1)

    def test_missing_none_and_non_mapping_give_default(self):
        self.assertEqual(helpers.dig({"a": None}, "a", "b", default="x"), "x")
        self.assertEqual(helpers.dig({"a": [1]}, "a", "b", default="x"), "x")
        self.assertIsNone(helpers.dig({}, "a"))

    def test_as_list(self):
        self.assertEqual(helpers.as_list(None), [])
        self.assertEqual(helpers.as_list("*"), ["*"])
        self.assertEqual(helpers.as_list({"k": 1}), [{"k": 1}])
        self.assertEqual(helpers.as_list(("a", "b")), ["a", "b"])


class CloudTrailTest(unittest.TestCase):
    def test_actor_names(self):
        cases = [
            ({"type": "Root", "arn": "arn:aws:iam::1:root"}, "root"),
            ({"type": "IAMUser", "userName": "j.doe"}, "j.doe"),
            (
                {
                    "type": "AssumedRole",
                    "arn": "arn:aws:sts::1:assumed-role/Deployer/run-7",
                    "sessionContext": {"sessionIssuer": {"userName": "Deployer"}},
                },
                "Deployer/run-7",
            ),
            (
                {"type": "AWSService", "invokedBy": "lambda.amazonaws.com"},
                "lambda.amazonaws.com",
            ),
            ({"type": "FederatedUser", "principalId": "1:bob"}, "1:bob"),
            ({}, helpers.UNKNOWN),
        ]
        for identity, expected in cases:
            with self.subTest(expected=expected):
                event = PantherEvent({"userIdentity": identity})
                self.assertEqual(helpers.cloudtrail_actor(event), expected)

    def test_succeeded(self):
        self.assertTrue(helpers.cloudtrail_succeeded({"eventName": "StopLogging"}))
        self.assertFalse(helpers.cloudtrail_succeeded({"errorCode": "AccessDenied"}))

    def test_context_is_json_friendly(self):
        context = helpers.cloudtrail_context(
            PantherEvent({"eventName": "X", "userIdentity": {"type": "Root"}})
        )
        self.assertEqual(context["actor"], "root")
        self.assertEqual(context["error_code"], "")


class PolicyDocumentTest(unittest.TestCase):
    def test_wildcard_principals(self):
        self.assertTrue(helpers.principal_is_anyone("*"))
        self.assertTrue(
            helpers.principal_is_anyone({"AWS": ["arn:aws:iam::1:root", "*"]})
        )
        self.assertFalse(helpers.principal_is_anyone({"Service": "s3.amazonaws.com"}))

    def test_condition_or_deny_is_not_public(self):
        conditioned = {
            "Effect": "Allow",
            "Principal": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}},
        }
        deny = {"Effect": "Deny", "Principal": "*"}
        self.assertEqual(
            helpers.public_statements({"Statement": [conditioned, deny]}), []
        )

    def test_single_statement_object(self):
        statement = {
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "s3:GetObject",
        }
        self.assertEqual(
            helpers.public_statements({"Statement": statement}), [statement]
        )

    def test_immutable_event_values(self):
        event = PantherEvent(
            {"doc": {"Statement": [{"Effect": "Allow", "NotPrincipal": {"AWS": "x"}}]}}
        )
        self.assertEqual(len(helpers.public_statements(event["doc"])), 1)


class OktaAndGitHubTest(unittest.TestCase):
    def test_okta_context_targets(self):
        event = PantherEvent(
            {
                "eventType": "user.session.start",
                "actor": {"alternateId": "a@example.com"},
                "target": [
                    {"type": "User", "alternateId": "b@example.com"},
                    {"type": "AppInstance", "id": "0oa1"},
                ],
            }
        )
        context = helpers.okta_context(event)
        self.assertEqual(context["targets"], ["b@example.com", "0oa1"])
        self.assertEqual(len(helpers.okta_targets(event, "User")), 1)

    def test_github_repo_field_names(self):
        self.assertEqual(helpers.github_repo({"repository": "o/r"}), "o/r")
        self.assertEqual(helpers.github_context({"repo": "o/r2"})["repo"], "o/r2")


if __name__ == "__main__":
    unittest.main()
