# Writes the pydantic_*.json schemas of this corpus with Pydantic v2 (model_json_schema, its defaults):
#   cd guest/constraint/testdata/schemas && python3 pydantic_gen.py
# They were generated with pydantic 2.13.4; the *.docs files beside them are written by hand.
import datetime
import enum
import json
import uuid
from typing import Literal, Optional, Union

from pydantic import BaseModel, Field
from pydantic.networks import AnyUrl, IPv4Address, IPv6Address


class Color(str, enum.Enum):
    red = "red"
    green = "green"
    blue = "blue"


class Priority(enum.IntEnum):
    low = 1
    high = 2


class Address(BaseModel):
    street: str
    city: str = Field(min_length=1, max_length=40)
    zip: Optional[str] = Field(default=None, pattern=r"^\d{5}$")


class Person(BaseModel):
    name: str = Field(description="Full name")
    age: int = Field(ge=0, le=150)
    email: Optional[str] = None
    height: float = Field(gt=0, lt=3.5)
    favorite: Color = Color.red
    tags: list[str] = Field(default_factory=list, max_length=5)
    address: Address
    previous: list[Address] = []
    scores: dict[str, int] = {}


class Node(BaseModel):
    value: int
    children: list["Node"] = []


class Cat(BaseModel):
    pet_type: Literal["cat"]
    meows: int = Field(ge=1)


class Dog(BaseModel):
    pet_type: Literal["dog"]
    barks: float


class Owner(BaseModel):
    pet: Union[Cat, Dog] = Field(discriminator="pet_type")
    n: int


class Event(BaseModel):
    id: uuid.UUID
    at: datetime.datetime
    day: datetime.date
    time: datetime.time
    took: datetime.timedelta
    url: AnyUrl
    ip4: IPv4Address
    ip6: IPv6Address
    kind: Literal["a", "b", 3]
    mixed: Union[int, str, None] = None


class LineItem(BaseModel):
    sku: str = Field(pattern=r"^[A-Z]{3}-\d{4}$")
    quantity: int = Field(gt=0, le=1000)
    price: float = Field(ge=0.01, le=99999.99)
    priority: Priority = Priority.low


class Order(BaseModel):
    order_id: int = Field(ge=-5, lt=10_000_000)
    items: list[LineItem] = Field(min_length=1, max_length=4)
    shipping: Optional[Address] = None
    notes: Optional[list[str]] = None
    status: Literal["new", "paid", "shipped"] = "new"
    flags: dict[str, bool] = {}
    discount: Optional[float] = Field(default=None, ge=-1.5, le=0)
    meta: Optional[dict[str, Union[str, int, None]]] = None


class Employee(BaseModel):
    name: str
    reports: list["Employee"] = []
    manager: Optional["Employee"] = None
    mentor: Optional["Employee"] = None


for model in (Person, Node, Owner, Event, Order, Employee):
    with open(f"pydantic_{model.__name__.lower()}.json", "w") as f:
        json.dump(model.model_json_schema(), f, indent=1)
        f.write("\n")
