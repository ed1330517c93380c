"""Word lists and sentence templates for the Simplified Chinese stories.

The layout matches `wordlists_en`: plots are lists of beats, a beat is a tuple of
alternative sentences, and a beat that starts with `OPTIONAL` may be left out. `{A}` is
the main character and `{B}` the friend of the other gender, so 他 and 她 each point to
exactly one name. Nouns carry their measure word (`{cls}`), as in 一只风筝.
"""

from __future__ import annotations

import random

OPTIONAL = "<optional>"

GIRL_NAMES = (
    "小红", "小丽", "小美", "小芳", "小雪", "小兰", "婷婷", "丽丽", "小燕", "小梅",
    "玲玲", "甜甜", "小月", "小琴", "小花",
)
BOY_NAMES = (
    "小明", "小刚", "小军", "小强", "小勇", "小龙", "小虎", "小伟", "小亮", "小东",
    "浩浩", "小杰", "小磊", "明明", "乐乐",
)
PET_NAMES = ("豆豆", "球球", "毛毛", "花花", "点点", "旺财", "咪咪", "黑黑", "团团", "奶糖")
PETS = ("小狗", "小猫", "小兔子", "小鸭子", "小鹦鹉", "小仓鼠")

# Toys as (noun, measure word).
OBJECTS = (
    ("皮球", "个"), ("风筝", "只"), ("鼓", "面"), ("小船", "条"), ("娃娃", "个"),
    ("小汽车", "辆"), ("铃铛", "个"), ("机器人", "个"), ("小火车", "列"), ("气球", "个"),
    ("陀螺", "个"), ("拼图", "盒"), ("哨子", "个"), ("玩具熊", "只"), ("小飞机", "架"),
    ("卡车", "辆"), ("呼啦圈", "个"), ("木偶", "个"), ("火箭", "枚"), ("溜溜球", "个"),
)
ADJECTIVES = (
    "红色的", "蓝色的", "绿色的", "黄色的", "橙色的", "紫色的", "白色的", "小小的", "大大的",
    "亮晶晶的", "旧旧的", "新的", "软软的", "漂亮的", "可爱的",
)
FOODS = (
    ("苹果", "个"), ("蛋糕", "块"), ("饼干", "块"), ("三明治", "个"), ("梨", "个"),
    ("包子", "个"), ("香蕉", "根"), ("橘子", "个"), ("馒头", "个"), ("月饼", "个"),
)
PLACES = (
    "公园", "花园", "海边", "森林", "河边", "学校", "市场", "农场", "山上", "湖边",
    "图书馆", "动物园", "操场", "草地", "小镇",
)
# Spots where a lost thing turns up, read as {spot}{spot_pos}: 大树下面, 长椅后面.
SPOTS = ("大树", "长椅", "草丛", "石头", "桌子", "小桥", "篱笆", "滑梯", "墙", "门")
SPOT_POSITIONS = ("下面", "后面", "旁边")
TIMES = (
    "一天早上", "有一天", "午饭后", "一个晴天", "星期天", "放学后", "傍晚", "一天下午",
    "一个冬天的早上", "周末",
)
SKILLS = ("骑自行车", "游泳", "放风筝", "做面包", "画小猫", "弹钢琴", "打绳结", "爬树", "唱歌", "搭积木")
# Each feeling reads after 很 and in 又…起来了.
GOOD_FEELINGS = ("开心", "高兴", "快乐", "兴奋")
BAD_FEELINGS = ("难过", "着急", "伤心", "害怕", "孤单")

PLOTS: tuple[tuple[tuple[str, ...], ...], ...] = (
    # The main character loses a toy and the friend finds it.
    (
        ("{A}有{obj_full}。", "从前有一个{a_kid}叫{A}。{a_ta}有{obj_full}。",
         "{A}有{obj_full}，{a_ta}非常喜欢这{cls}{obj}。"),
        ("{Time}，{A}带着{obj}去了{place}。", "{Time}，{A}拿着{a_ta}的{obj}去{place}玩。"),
        ("{A}把{obj}放在地上，跑去玩了。", "{a_ta}把{obj}放在草地上，就跑开了。"),
        ("等{a_ta}回来的时候，{obj}不见了。", "后来，{A}找不到{obj}了。"),
        ("{A}很{bad}。", "{a_ta}觉得很{bad}。"),
        ("这时，{A}看见了{B}。", "{B}来到{place}，看见了{A}。"),
        ("{B}问：“{A}，你怎么了？”", "“{A}，你为什么这么{bad}？”{B}问。"),
        ("{A}说：“我的{adj}{obj}丢了。”", "“我的{obj}不见了。”{A}说。"),
        ("{B}说：“我来帮你找。”", "“我们一起找吧。”{B}说。"),
        (OPTIONAL, "他们在水边找，又在草里找。", "{A}和{B}到处找。"),
        ("{B}在{spot}{spot_pos}找到了{obj}！", "最后，{B}看见{adj}{obj}就在{spot}{spot_pos}。"),
        ("{A}说：“谢谢你，{B}！”", "“谢谢你，{B}。”{A}说。"),
        ("{A}和{B}一起玩{obj}，一直玩到天黑。", "从那天起，{A}和{B}成了好朋友。",
         "{A}又{good}起来了，{a_ta}给了{B}一个大大的拥抱。"),
    ),
    # The friend is hungry and the main character shares food.
    (
        ("{Time}，{A}去了{place}。", "{Time}，{A}带着{food_full}去{place}。"),
        ("{a_ta}的书包里有{food_full}。", "{A}的午饭是{food_full}。"),
        ("在{place}，{a_ta}遇见了{B}。", "在那里，{A}遇见了{B}。"),
        ("{B}看起来很{bad}。", "{B}又饿又{bad}。"),
        ("{A}问：“{B}，你饿了吗？”", "“你想吃{food}吗？”{A}问。"),
        ("{B}说：“是的，我忘了带午饭。”", "“想吃，谢谢你。”{B}说。"),
        ("{A}把{food}分成了两半。", "{A}把{food}掰成两半。"),
        ("{a_ta}把一半{food}给了{B}。", "{A}给了{B}一半。"),
        ("{B}说：“谢谢你，{A}，你真好。”", "“谢谢你，{A}。”{B}说。"),
        ("{B}对{A}笑了。", "{b_ta}又{good}起来了。"),
        ("他们一起吃{food}，聊着{place}的事。", "从那以后，{B}也常常和{A}分享{b_ta}的午饭。"),
    ),
    # The friend teaches the main character a skill.
    (
        ("{A}想学{skill}。", "{A}很想学会{skill}。"),
        ("{a_ta}试了又试，可是太难了。", "{a_ta}试了很多次，还是学不会。"),
        ("{A}很{bad}。", "{a_ta}坐下来，觉得很{bad}。"),
        ("{Time}，{B}来看{A}。", "{Time}，{A}在{place}遇见了{B}。"),
        ("{B}说：“我会{skill}，我教你。”", "“我可以帮你。”{B}说。"),
        ("{B}教{A}怎么做。", "{b_ta}教{a_ta}从头开始。"),
        ("{A}说：“是这样吗？”", "“这样对吗？”{A}问。"),
        ("{B}说：“对，{A}！再试一次。”", "“对，就是这样。”{B}说。"),
        ("{A}练了一遍又一遍。", "{A}一直没有放弃。"),
        ("最后，{A}学会了{skill}！", "终于，{A}自己也会{skill}了。"),
        ("{A}非常{good}。", "{a_ta}觉得又{good}又骄傲。"),
        ("{A}说：“谢谢你，{B}！”", "“{B}，你真是一个好老师。”{A}说。"),
    ),
    # The main character's pet runs away and the friend helps to bring it home.
    (
        ("{A}有一只{pet}，名字叫{P}。", "{A}养了一只{pet}，它叫{P}。"),
        ("{A}非常爱{P}。", "{P}每天都和{A}一起玩。"),
        ("{Time}，{A}带{P}去了{place}。", "{Time}，{A}和{P}一起去{place}。"),
        ("{P}看见一只小鸟，就跑走了。", "突然，{P}跑开了。"),
        ("{A}大声喊：“{P}！{P}！快回来！”", "“{P}，你在哪儿？”{A}喊道。"),
        ("可是{P}没有回来。", "{P}不见了。"),
        ("{A}很{bad}。", "{a_ta}哭了起来。"),
        ("这时，{B}走了过来。", "{B}看见{A}，就走了过来。"),
        ("{B}说：“别哭，{A}。我在{spot}{spot_pos}看见了一只{pet}。”",
         "“我在{spot}{spot_pos}看见了一只{pet}。”{B}说。"),
        ("{A}和{B}跑到{spot}那里。", "他们一起走到{spot}旁边。"),
        ("{P}就在{spot}{spot_pos}！", "{P}果然在{spot}{spot_pos}。"),
        ("{A}抱起{P}，紧紧地抱着它。", "{A}抱住了{P}，{P}也很{good}。"),
        ("{A}说：“谢谢你，{B}！”", "“谢谢你的帮助，{B}。”{A}说。"),
        (OPTIONAL, "{A}、{B}和{P}一起走回了家。", "现在{P}总是待在{A}身边。"),
    ),
    # The main character makes a gift for the friend's birthday.
    (
        ("{Time}，{A}想起来今天是{B}的生日。", "{B}的生日快到了。"),
        ("{A}想送{B}一个礼物。", "{A}想给{B}做一件礼物。"),
        ("{a_ta}在{place}找到了{obj_full}。", "{a_ta}用纸和胶水做了{obj_full}。"),
        ("{A}把{obj}放进一个盒子里。", "{A}用彩纸把{obj}包了起来。"),
        ("然后{a_ta}去找{B}。", "{A}走到{B}的家。"),
        ("{A}说：“{B}，生日快乐！”", "“生日快乐！”{A}说。"),
        ("{A}把盒子送给了{B}。", "{a_ta}把礼物送给了{B}。"),
        ("{B}打开盒子，看见了{obj}。", "盒子里是一{cls}{adj}{obj}。"),
        ("{B}非常{good}。", "{b_ta}高兴得跳了起来。"),
        ("{B}说：“我很喜欢，{A}！”", "“谢谢你，{A}，这是最好的礼物。”{B}说。"),
        ("{B}把{obj}放在{b_ta}的书桌上。", "{B}走到哪里都带着{obj}。"),
    ),
    # A rainy day at home with a game and a small accident.
    (
        ("下雨了，{A}只好待在家里。", "外面下着雨，{A}不能去{place}。"),
        ("{a_ta}觉得很无聊。", "{A}看着窗外，{a_ta}觉得很无聊。"),
        ("这时，{B}来敲门了。", "这时，{B}来找{A}玩。"),
        ("{B}说：“我们玩你的{obj}吧。”", "“我们可以玩{obj}吗？”{B}问。"),
        ("{A}和{B}一起玩{adj}{obj}。", "他们玩{obj}玩了很久。"),
        ("可是{obj}掉在地上，摔坏了。", "哎呀！{B}不小心把{obj}摔坏了。"),
        ("{B}很{bad}。", "“对不起，{A}。”{B}说。"),
        ("{A}说：“没关系，{B}，我们可以把它修好。”", "“别担心。”{A}说。"),
        ("他们一起把{obj}修好了。", "{A}和{B}用胶带把{obj}修好了。"),
        ("雨停了，他们一起去了{place}。", "不久，太阳出来了。"),
        ("{A}和{B}都很{good}。", "对{A}和{B}来说，这是美好的一天。"),
    ),
)


def make_cast(rng: random.Random) -> dict[str, str]:
    """Draw the names, things and places of one story as template placeholders."""
    a_is_girl = rng.random() < 0.5
    obj, obj_measure = rng.choice(OBJECTS)
    adj = rng.choice(ADJECTIVES)
    food, food_measure = rng.choice(FOODS)
    return {
        "A": rng.choice(GIRL_NAMES if a_is_girl else BOY_NAMES),
        "B": rng.choice(BOY_NAMES if a_is_girl else GIRL_NAMES),
        "a_ta": "她" if a_is_girl else "他",
        "b_ta": "他" if a_is_girl else "她",
        "a_kid": "小女孩" if a_is_girl else "小男孩",
        "P": rng.choice(PET_NAMES),
        "pet": rng.choice(PETS),
        "obj": obj,
        "cls": obj_measure,
        "adj": adj,
        "obj_full": f"一{obj_measure}{adj}{obj}",
        "food": food,
        "food_full": f"一{food_measure}{food}",
        "place": rng.choice(PLACES),
        "spot": rng.choice(SPOTS),
        "spot_pos": rng.choice(SPOT_POSITIONS),
        "Time": rng.choice(TIMES),
        "skill": rng.choice(SKILLS),
        "good": rng.choice(GOOD_FEELINGS),
        "bad": rng.choice(BAD_FEELINGS),
    }


SENTENCE_SEPARATOR = ""
