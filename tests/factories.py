import factory
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from groups.models import ApiGroup, Membership, Role

DEFAULT_PASSWORD = "a-long-test-password-1"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def verified_email(self, create, extracted, **kwargs):
        if create:
            self.save()
            EmailAddress.objects.create(
                user=self, email=self.email, verified=True, primary=True
            )


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiGroup
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Group {n}")
    slug = factory.Sequence(lambda n: f"group-{n}")

    @factory.post_generation
    def billing_account(self, create, extracted, **kwargs):
        if create:
            from billing.ledger import ensure_account

            ensure_account(self.pk)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    group = factory.SubFactory(GroupFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER


class ApiKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "apikeys.ApiKey"

    group = factory.SubFactory(GroupFactory)
    name = factory.Sequence(lambda n: f"key-{n}")
    secret_hash = factory.Sequence(lambda n: f"{n:064x}")
    last_four = factory.Sequence(lambda n: f"{n:04X}"[-4:])
