"""Word lists and sentence templates for the English stories.

Every plot is a list of beats. A beat is a tuple of alternative sentences, and the
generator picks one of them per story. A beat whose first entry is `OPTIONAL` may be left
out. Placeholders in braces are filled from the cast that `make_cast` draws. `{A}` is the
main character and `{B}` the friend. The friend is always of the other gender, so every
pronoun has exactly one possible antecedent. `{P}` is a pet's name, and `{obj}`, `{food}`
and `{place}` are the things and places the story keeps coming back to.
"""

from __future__ import annotations

import random

OPTIONAL = "<optional>"

GIRL_NAMES = (
    "Lily", "Anna", "Mia", "Emma", "Sara", "Lucy", "Grace", "Nora", "Ruby", "Zoe",
    "Maya", "Ella", "Rose", "Amy", "Kate", "Ivy", "Hannah", "Chloe", "Alice", "Daisy",
)
BOY_NAMES = (
    "Tom", "Ben", "Sam", "Max", "Jack", "Leo", "Finn", "Noah", "Oscar", "Jake",
    "Tim", "Dan", "Luke", "Adam", "Owen", "Eli", "Henry", "Paul", "Ryan", "Theo",
)
PET_NAMES = ("Bo", "Pip", "Coco", "Biscuit", "Pepper", "Sunny", "Mochi", "Rex", "Luna", "Ziggy")
PETS = ("dog", "cat", "rabbit", "duck", "puppy", "kitten", "parrot", "hamster")

# Toys a child can carry, lose, share and break.
OBJECTS = (
    "ball", "kite", "drum", "boat", "doll", "car", "bell", "robot", "train", "balloon",
    "top", "puzzle", "whistle", "teddy bear", "plane", "truck", "hoop", "puppet", "rocket", "yo-yo",
)
ADJECTIVES = (
    "red", "blue", "green", "yellow", "orange", "purple", "little", "big", "shiny", "old",
    "new", "soft", "striped", "tiny", "bright",
)
FOODS = ("apple", "cake", "cookie", "sandwich", "pear", "muffin", "banana", "orange", "pie", "bun")
PLACES = (
    "park", "garden", "beach", "forest", "river", "school", "market", "farm", "hill", "lake",
    "library", "zoo", "playground", "meadow", "harbor",
)
# Spots where a lost thing turns up; each reads after "under", "behind" or "near".
SPOTS = ("tree", "bench", "bush", "rock", "table", "bridge", "fence", "slide", "wall", "door")
SPOT_PREPOSITIONS = ("under", "behind", "near")
TIMES = (
    "One morning", "One day", "After lunch", "On a sunny day", "On a rainy day",
    "In the evening", "Early one morning", "On Sunday", "After school", "One cold day",
)
SKILLS = (
    "ride a bike", "swim", "fly a kite", "bake bread", "draw a cat", "play the piano",
    "tie a knot", "climb a tree", "sing a song", "build a tower",
)
GOOD_FEELINGS = ("happy", "glad", "proud", "excited", "cheerful")
BAD_FEELINGS = ("sad", "worried", "upset", "scared", "lonely")

PLOTS: tuple[tuple[tuple[str, ...], ...], ...] = (
    # The main character loses a thing and the friend finds it.
    (
        ("{A} had {obj_a}.", "Once there was a {a_kid} named {A}. {A_he} had {obj_a}.",
         "{A} had {obj_a}. {A_he} loved the {obj} very much."),
        ("{Time}, {A} took the {obj} to the {place}.",
         "{Time}, {A} went to the {place} with {a_his} {obj}."),
        ("{A} put the {obj} down and ran to play.", "{A_he} put the {obj} on the grass and ran away to play."),
        ("When {a_he} came back, the {obj} was gone.", "Later, {A} could not find the {obj}."),
        ("{A} was {bad}.", "{A_he} felt very {bad}."),
        ("Then {A} saw {B}.", "{B} came to the {place} and saw {A}."),
        ('{B} asked, "Why are you {bad}, {A}?"', '"What is wrong, {A}?" asked {B}.'),
        ('{A} said, "I lost my {adj} {obj}."', '"My {obj} is gone," said {A}.'),
        ('{B} said, "I will help you find it."', '"Let us look for it together," said {B}.'),
        (OPTIONAL, "They looked near the water. They looked under the grass.",
         "{A} and {B} looked everywhere."),
        ("{B} found the {obj} {spot_prep} the {spot}!", "At last, {B} saw the {adj} {obj} {spot_prep} the {spot}."),
        ('{A} said, "Thank you, {B}!"', '"Thank you, {B}," said {A}.'),
        ("{A} and {B} played with the {obj} until it was dark.",
         "From that day, {A} and {B} were good friends.",
         "{A} was {good} again, and {a_he} gave {B} a big hug."),
    ),
    # The friend is hungry and the main character shares food.
    (
        ("{Time}, {A} went to the {place}.", "{Time}, {A} walked to the {place} with {food_a}."),
        ("{A_he} had {food_a} in {a_his} bag.", "{A} had {food_a} for lunch."),
        ("At the {place}, {a_he} met {B}.", "There {A} met {B}."),
        ("{B} looked {bad}.", "{B} was hungry and {bad}."),
        ('{A} asked, "Are you hungry, {B}?"', '"Do you want some {food}?" asked {A}.'),
        ('{B} said, "Yes, I forgot my lunch."', '"Yes, please," said {B}.'),
        ("{A} cut the {food} in two.", "{A} broke the {food} into two parts."),
        ("{A_he} gave half of the {food} to {B}.", "{A} gave {B} one half."),
        ('{B} said, "Thank you, {A}. You are kind."', '"Thank you, {A}," said {B}.'),
        ("{B} smiled at {A}.", "{B_he} felt {good} again."),
        ("They ate the {food} together and talked about the {place}.",
         "After that, {B} always shared {b_his} lunch with {A}."),
    ),
    # The friend teaches the main character a skill.
    (
        ("{A} wanted to learn to {skill}.", "{A} wished {a_he} could {skill}."),
        ("{A_he} tried and tried, but it was hard.", "{A_he} tried many times, but {a_he} could not do it."),
        ("{A} was {bad}.", "{A_he} sat down and felt {bad}."),
        ("{Time}, {B} came to see {A}.", "{Time}, {A} met {B} at the {place}."),
        ('{B} said, "I can {skill}. I will show you."', '"I can help you," said {B}.'),
        ("{B} showed {A} what to do.", "{B_he} showed {a_him} how to start."),
        ('{A} said, "Like this?"', '"Is this right?" asked {A}.'),
        ('{B} said, "Yes, {A}! Try again."', '"Yes, just like that," said {B}.'),
        ("{A} tried again and again.", "{A} did not stop."),
        ("At last, {A} could {skill}!", "In the end, {A} could {skill} all by {a_him}self."),
        ("{A} was so {good}.", "{A_he} felt {good} and proud."),
        ('{A} said, "Thank you, {B}!"', '"You are a good teacher, {B}," said {A}.'),
    ),
    # The main character's pet runs away and the friend helps to bring it home.
    (
        ("{A} had a {pet} named {P}.", "{A} had a little {pet}. Its name was {P}."),
        ("{A} loved {P} very much.", "{P} liked to play with {A} every day."),
        ("{Time}, {A} took {P} to the {place}.", "{Time}, {A} and {P} went to the {place}."),
        ("{P} saw a bird and ran away.", "Suddenly, {P} ran off."),
        ('{A} called, "{P}! {P}! Come back!"', '"{P}, where are you?" called {A}.'),
        ("But {P} did not come back.", "{P} was gone."),
        ("{A} was {bad}.", "{A_he} began to cry."),
        ("Then {B} came by.", "{B} saw {A} and came over."),
        ('{B} said, "Do not cry, {A}. I saw a {pet} near the {spot}."', '"I saw a {pet} near the {spot}," said {B}.'),
        ("{A} and {B} ran to the {spot}.", "They went to the {spot} together."),
        ("{P} was {spot_prep} the {spot}!", "There was {P}, {spot_prep} the {spot}."),
        ("{A} picked up {P} and hugged {P}.", "{A} hugged {P}. {P} was {good} too."),
        ('{A} said, "Thank you, {B}!"', '"Thank you for your help, {B}," said {A}.'),
        (OPTIONAL, "{A}, {B} and {P} walked home together.", "Now {P} stays close to {A}."),
    ),
    # The main character makes a gift for the friend's birthday.
    (
        ("{Time}, {A} remembered that it was {B}'s birthday.", "It was {B}'s birthday soon."),
        ("{A} wanted to give {B} a gift.", "{A} wanted to make something for {B}."),
        ("{A_he} found {obj_a} at the {place}.", "{A_he} made {obj_a} with paper and glue."),
        ("{A} put the {obj} in a box.", "{A} wrapped the {obj} in {adj} paper."),
        ("Then {a_he} went to see {B}.", "{A} walked to {B}'s house."),
        ('{A} said, "Happy birthday, {B}!"', '"Happy birthday!" said {A}.'),
        ("{A} gave the box to {B}.", "{A_he} gave the gift to {B}."),
        ("{B} opened it and saw the {obj}.", "Inside the box, {B} found the {adj} {obj}."),
        ("{B} was very {good}.", "{B_he} jumped up and down."),
        ('{B} said, "I love it, {A}!"', '"Thank you, {A}. It is the best gift," said {B}.'),
        ("{B} kept the {obj} on {b_his} desk.", "{B} took the {obj} everywhere {b_he} went."),
    ),
    # A rainy day at home with a game and a small accident.
    (
        ("It was a rainy day, so {A} stayed at home.", "It was raining, so {A} could not go to the {place}."),
        ("{A_he} was bored.", "{A} looked out of the window. {A_he} was bored."),
        ("Then {B} knocked on the door.", "Then {B} came to visit."),
        ('{B} said, "Let us play with your {obj}."', '"Can we play with the {obj}?" asked {B}.'),
        ("{A} and {B} played with the {adj} {obj}.", "They played with the {obj} for a long time."),
        ("But the {obj} fell and broke.", "Oh no! {B} dropped the {obj} and it broke."),
        ("{B} was {bad}.", '"I am sorry, {A}," said {B}.'),
        ('{A} said, "It is fine, {B}. We can fix it."', '"Do not worry," said {A}.'),
        ("Together they fixed the {obj}.", "{A} and {B} fixed the {obj} with some tape."),
        ("When the rain stopped, they went to the {place}.", "Soon the sun came out."),
        ("{A} and {B} were {good}.", "It was a good day for {A} and {B}."),
    ),
)


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _pronouns(prefix: str, is_girl: bool) -> dict[str, str]:
    he = "she" if is_girl else "he"
    his = "her" if is_girl else "his"
    him = "her" if is_girl else "him"
    return {
        f"{prefix.lower()}_he": he,
        f"{prefix}_he": he.capitalize(),
        f"{prefix.lower()}_his": his,
        f"{prefix}_his": his.capitalize(),
        f"{prefix.lower()}_him": him,
        f"{prefix.lower()}_kid": "girl" if is_girl else "boy",
    }


def make_cast(rng: random.Random) -> dict[str, str]:
    """Draw the names, things and places of one story as template placeholders."""
    a_is_girl = rng.random() < 0.5
    a_name = rng.choice(GIRL_NAMES if a_is_girl else BOY_NAMES)
    b_name = rng.choice(BOY_NAMES if a_is_girl else GIRL_NAMES)
    obj = rng.choice(OBJECTS)
    adj = rng.choice(ADJECTIVES)
    food = rng.choice(FOODS)
    cast = {
        "A": a_name,
        "B": b_name,
        "P": rng.choice(PET_NAMES),
        "pet": rng.choice(PETS),
        "obj": obj,
        "adj": adj,
        "obj_a": f"{_article(adj)} {adj} {obj}",
        "food": food,
        "food_a": f"{_article(food)} {food}",
        "place": rng.choice(PLACES),
        "spot": rng.choice(SPOTS),
        "spot_prep": rng.choice(SPOT_PREPOSITIONS),
        "Time": rng.choice(TIMES),
        "skill": rng.choice(SKILLS),
        "good": rng.choice(GOOD_FEELINGS),
        "bad": rng.choice(BAD_FEELINGS),
    }
    cast.update(_pronouns("A", a_is_girl))
    cast.update(_pronouns("B", not a_is_girl))
    return cast


SENTENCE_SEPARATOR = " "
