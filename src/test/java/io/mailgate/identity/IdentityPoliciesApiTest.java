package io.mailgate.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.testing.RecordingSmtpServer;
import io.mailgate.testing.Tenant;
import io.mailgate.testing.TestNode;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.ses.model.InvalidPolicyException;
import software.amazon.awssdk.services.sesv2.model.AlreadyExistsException;
import software.amazon.awssdk.services.sesv2.model.BadRequestException;
import software.amazon.awssdk.services.sesv2.model.LimitExceededException;
import software.amazon.awssdk.services.sesv2.model.NotFoundException;

/** Sending authorization policies managed through the AWS SDK, v2 and v1: checks, limits, owner only. */
class IdentityPoliciesApiTest {
  static RecordingSmtpServer relay;
  static TestNode node;
  static Tenant owner;
  static Tenant other;

  @BeforeAll
  static void start() throws IOException {
    relay = new RecordingSmtpServer();
    node = TestNode.start(relay.url());
    owner = Tenant.create(node, "policy-owner");
    other = Tenant.create(node, "policy-other");
  }

  @AfterAll
  static void stop() throws IOException {
    owner.close();
    other.close();
    node.close();
    relay.close();
  }

  static String arn(String account, String identity) {
    return "arn:aws:ses:us-east-1:" + account + ":identity/" + identity;
  }

  static String policy(String resource, String principal) {
    return "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"s1\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
        + principal + "\"},\"Action\":[\"ses:SendEmail\",\"ses:SendRawEmail\"],\"Resource\":\"" + resource + "\"}]}";
  }

  @Test
  void createGetUpdateDeleteThroughV2() {
    String identity = "crud.example";
    owner.v2().createEmailIdentity(r -> r.emailIdentity(identity));
    String first = policy(arn(owner.id(), identity), other.id());
    owner.v2().createEmailIdentityPolicy(r -> r.emailIdentity(identity).policyName("first").policy(first));
    assertEquals(Map.of("first", first), owner.v2().getEmailIdentityPolicies(r -> r.emailIdentity(identity)).policies());
    assertEquals(Map.of("first", first), owner.v2().getEmailIdentity(r -> r.emailIdentity(identity)).policies());

    assertThrows(AlreadyExistsException.class, () -> owner.v2().createEmailIdentityPolicy(r -> r
        .emailIdentity(identity).policyName("first").policy(first)));
    assertThrows(NotFoundException.class, () -> owner.v2().updateEmailIdentityPolicy(r -> r
        .emailIdentity(identity).policyName("missing").policy(first)));

    String second = policy(arn(owner.id(), identity), "*");
    owner.v2().updateEmailIdentityPolicy(r -> r.emailIdentity(identity).policyName("first").policy(second));
    // a refused update changes nothing
    BadRequestException bad = assertThrows(BadRequestException.class, () -> owner.v2().updateEmailIdentityPolicy(r -> r
        .emailIdentity(identity).policyName("first").policy("{\"Statement\":[]}")));
    assertTrue(bad.getMessage().contains("no Statement"), bad.getMessage());
    assertEquals(Map.of("first", second), owner.v2().getEmailIdentityPolicies(r -> r.emailIdentity(identity)).policies());

    owner.v2().deleteEmailIdentityPolicy(r -> r.emailIdentity(identity).policyName("first"));
    owner.v2().deleteEmailIdentityPolicy(r -> r.emailIdentity(identity).policyName("first")); // gone: no error
    assertEquals(Map.of(), owner.v2().getEmailIdentityPolicies(r -> r.emailIdentity(identity)).policies());
  }

  @Test
  void onlyTheOwnerManagesAndUnknownIdentitiesAreNotFound() {
    String identity = "owned@crud.example";
    owner.v2().createEmailIdentity(r -> r.emailIdentity(identity));
    String p = policy(arn(owner.id(), identity), other.id());
    owner.v2().createEmailIdentityPolicy(r -> r.emailIdentity(identity).policyName("p").policy(p));
    assertThrows(NotFoundException.class, () -> other.v2().getEmailIdentityPolicies(r -> r.emailIdentity(identity)));
    assertThrows(NotFoundException.class, () -> other.v2().createEmailIdentityPolicy(r -> r.emailIdentity(identity)
        .policyName("mine").policy(policy(arn(owner.id(), identity), other.id()))));
    assertThrows(NotFoundException.class, () -> other.v2().deleteEmailIdentityPolicy(r -> r.emailIdentity(identity)
        .policyName("p")));
    assertThrows(NotFoundException.class, () -> owner.v2().createEmailIdentityPolicy(r -> r
        .emailIdentity("nobody.example").policyName("p").policy(policy(arn(owner.id(), "nobody.example"), "*"))));
    assertEquals(Map.of("p", p), owner.v2().getEmailIdentityPolicies(r -> r.emailIdentity(identity)).policies());
    // a name that is no identity's at all is NotFound too, as the identity itself would be
    assertThrows(NotFoundException.class, () -> owner.v2().getEmailIdentityPolicies(r -> r
        .emailIdentity("not a domain")));
    assertThrows(NotFoundException.class, () -> owner.v2().deleteEmailIdentityPolicy(r -> r
        .emailIdentity("not a domain").policyName("p")));
    assertThrows(NotFoundException.class, () -> owner.v2().createEmailIdentityPolicy(r -> r
        .emailIdentity("not a domain").policyName("p").policy(policy(arn(owner.id(), identity), "*"))));
  }

  @Test
  void namesDocumentsAndTheLimitAreChecked() {
    String identity = "limits.example";
    owner.v2().createEmailIdentity(r -> r.emailIdentity(identity));
    String good = policy(arn(owner.id(), identity), other.id());
    for (String name : List.of("", "has space", "x".repeat(65), "dot.ted")) {
      assertThrows(BadRequestException.class, () -> owner.v2().createEmailIdentityPolicy(r -> r
          .emailIdentity(identity).policyName(name.isEmpty() ? "%20" : name).policy(good)), name);
    }
    BadRequestException wrongResource = assertThrows(BadRequestException.class, () -> owner.v2()
        .createEmailIdentityPolicy(r -> r.emailIdentity(identity).policyName("p")
            .policy(policy(arn(other.id(), identity), other.id()))));
    assertTrue(wrongResource.getMessage().contains("is not this identity"), wrongResource.getMessage());
    assertThrows(BadRequestException.class, () -> owner.v2().createEmailIdentityPolicy(r -> r.emailIdentity(identity)
        .policyName("p").policy("{not json")));
    assertThrows(BadRequestException.class, () -> owner.v2().createEmailIdentityPolicy(r -> r.emailIdentity(identity)
        .policyName("p").policy(good.replace("\"Sid\":\"s1\"", "\"Sid\":\"" + "s".repeat(4096) + "\""))));
    // a condition Mailgate cannot evaluate is refused, naming it; a day alone is a date it reads
    BadRequestException sourceIp = assertThrows(BadRequestException.class, () -> owner.v2().createEmailIdentityPolicy(
        r -> r.emailIdentity(identity).policyName("p").policy(good.replace("\"Resource\"",
            "\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}},\"Resource\""))));
    assertTrue(sourceIp.getMessage().contains("aws:SourceIp"), sourceIp.getMessage());
    assertEquals(Map.of(), owner.v2().getEmailIdentityPolicies(r -> r.emailIdentity(identity)).policies());
    String until = good.replace("\"Resource\"",
        "\"Condition\":{\"DateLessThan\":{\"aws:CurrentTime\":\"2999-01-01\"}},\"Resource\"");
    owner.v2().createEmailIdentityPolicy(r -> r.emailIdentity(identity).policyName("until").policy(until));
    owner.v2().deleteEmailIdentityPolicy(r -> r.emailIdentity(identity).policyName("until"));

    for (int i = 0; i < 20; i++) {
      String name = "p" + i;
      owner.v2().createEmailIdentityPolicy(r -> r.emailIdentity(identity).policyName(name).policy(good));
    }
    assertThrows(LimitExceededException.class, () -> owner.v2().createEmailIdentityPolicy(r -> r
        .emailIdentity(identity).policyName("p20").policy(good)));
    owner.v2().updateEmailIdentityPolicy(r -> r.emailIdentity(identity).policyName("p19").policy(good)); // not a 21st
    assertEquals(20, owner.v2().getEmailIdentityPolicies(r -> r.emailIdentity(identity)).policies().size());

    // the policies go with their identity
    owner.v2().deleteEmailIdentity(r -> r.emailIdentity(identity));
    owner.v2().createEmailIdentity(r -> r.emailIdentity(identity));
    assertEquals(Map.of(), owner.v2().getEmailIdentityPolicies(r -> r.emailIdentity(identity)).policies());
  }

  @Test
  void v1PutGetListDelete() {
    String identity = "v1.example";
    owner.v1().verifyDomainIdentity(r -> r.domain(identity));
    String p = policy(arn(owner.id(), identity), other.id());
    owner.v1().putIdentityPolicy(r -> r.identity(identity).policyName("a").policy(p));
    // by ARN too, and Put replaces
    owner.v1().putIdentityPolicy(r -> r.identity(arn(owner.id(), identity)).policyName("b").policy(p));
    owner.v1().putIdentityPolicy(r -> r.identity(identity).policyName("b").policy(p));
    assertEquals(List.of("a", "b"), owner.v1().listIdentityPolicies(r -> r.identity(identity)).policyNames());
    assertEquals(Map.of("a", p), owner.v1().getIdentityPolicies(r -> r.identity(identity)
        .policyNames("a", "missing")).policies());

    InvalidPolicyException invalid = assertThrows(InvalidPolicyException.class, () -> owner.v1().putIdentityPolicy(r -> r
        .identity(identity).policyName("c").policy(p.replace("ses:SendEmail", "ses:VerifyEmailIdentity"))));
    assertTrue(invalid.getMessage().contains("not a sending action"), invalid.getMessage());
    assertEquals("InvalidPolicy", invalid.awsErrorDetails().errorCode());

    owner.v1().deleteIdentityPolicy(r -> r.identity(identity).policyName("a"));
    assertEquals(List.of("b"), owner.v1().listIdentityPolicies(r -> r.identity(identity)).policyNames());
    // another account finds no such identity of its own, by name or by the owner's ARN, and learns nothing of it; v1
    // says so as it does for every identity action (InvalidParameterValue: v1 has no NotFound)
    for (String named : List.of(identity, arn(owner.id(), identity))) {
      List<software.amazon.awssdk.core.exception.SdkException> refused = List.of(
          assertThrows(software.amazon.awssdk.services.ses.model.SesException.class,
              () -> other.v1().listIdentityPolicies(r -> r.identity(named))),
          assertThrows(software.amazon.awssdk.services.ses.model.SesException.class,
              () -> other.v1().getIdentityPolicies(r -> r.identity(named).policyNames("b"))),
          assertThrows(software.amazon.awssdk.services.ses.model.SesException.class,
              () -> other.v1().putIdentityPolicy(r -> r.identity(named).policyName("c").policy(p))),
          assertThrows(software.amazon.awssdk.services.ses.model.SesException.class,
              () -> other.v1().deleteIdentityPolicy(r -> r.identity(named).policyName("b"))));
      for (software.amazon.awssdk.core.exception.SdkException thrown : refused) {
        software.amazon.awssdk.services.ses.model.SesException e =
            (software.amazon.awssdk.services.ses.model.SesException) thrown;
        assertEquals(400, e.statusCode(), e.getMessage());
        assertEquals("InvalidParameterValue", e.awsErrorDetails().errorCode(), e.getMessage());
        assertEquals("Identity v1.example is invalid. Must be a verified email address or domain.",
            e.awsErrorDetails().errorMessage());
      }
    }
    assertEquals(List.of("b"), owner.v1().listIdentityPolicies(r -> r.identity(identity)).policyNames(),
        "the other account's put and delete changed nothing");
    software.amazon.awssdk.services.ses.model.SesException unknown = assertThrows(
        software.amazon.awssdk.services.ses.model.SesException.class,
        () -> owner.v1().setIdentityDkimEnabled(r -> r.identity("nobody.example").dkimEnabled(true)));
    assertEquals("InvalidParameterValue", unknown.awsErrorDetails().errorCode(), unknown.getMessage());
    // a name that could be no identity's at all: the same answer, not v2's NotFound
    software.amazon.awssdk.services.ses.model.SesException malformed = assertThrows(
        software.amazon.awssdk.services.ses.model.SesException.class,
        () -> owner.v1().listIdentityPolicies(r -> r.identity("bad..name")));
    assertEquals("InvalidParameterValue", malformed.awsErrorDetails().errorCode(), malformed.getMessage());
  }
}
